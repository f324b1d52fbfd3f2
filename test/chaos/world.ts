import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { freshPrefix } from '../helpers/redis.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { spawnBridge, type BridgeProcess } from './bridge-process.js';
import { startCountingReceiver, type CountingReceiver } from './counting-receiver.js';

export interface ChaosReport {
  sent: number;
  delivered: number;
  lost: number;
  /** Events acknowledged twice whose first acknowledgement the bridge had time to record. */
  duplicated: number;
  /**
   * Events acknowledged twice whose first delivery was in flight when a delivering process was SIGKILLed: the
   * request arrived before the kill and the answer was written less than {@link IN_FLIGHT_WINDOW_MS} before it
   * (or after it, into a socket whose owner was already dead). The killed process never recorded the outcome, so
   * the job is delivered again with the same webhook-id: at-least-once delivery, which receivers absorb by
   * deduplicating on webhook-id.
   */
  redeliveredAfterKill: number;
}

/** How close before a kill an acknowledgement counts as "in flight": recording it takes a Redis round trip. */
export const IN_FLIGHT_WINDOW_MS = 250;

/** `gateway.lease_ttl` of every bridge process in a chaos world, in ms. */
export const LEASE_TTL_MS = 2_000;

/**
 * One chaos scenario's world: its own redis-server (AOF, fsync always), the QQ simulator, a counting receiver,
 * and real bridge processes started from a generated config. Everything is torn down by `close()`.
 */
export class ChaosWorld {
  readonly sent: string[] = [];
  /** When a delivering process was SIGKILLed. */
  readonly kills: number[] = [];
  readonly dir = mkdtempSync(join(tmpdir(), 'qqwb-chaos-'));
  private readonly bridges: BridgeProcess[] = [];
  /**
   * The `redis:` keys other than `prefix` in every config written from now on (indented YAML lines); default the
   * world's own redis-server as `url`. A scenario against Sentinel or a Cluster sets its `sentinel:`/`cluster:`.
   */
  redisConnectionYaml: string | undefined;
  private constructor(
    readonly redis: RedisServer,
    readonly sim: Simulator,
    readonly receiver: CountingReceiver,
    readonly prefix: string,
  ) {}

  static async create(): Promise<ChaosWorld> {
    const redis = await startRedisServer({ appendonly: true });
    const sim = await startSimulator({ heartbeatIntervalMs: 1_000 });
    const receiver = await startCountingReceiver();
    return new ChaosWorld(redis, sim, receiver, freshPrefix('chaos'));
  }

  /**
   * Writes a config for one bridge process; `slot` names its journal dir, kept across restarts of that slot.
   * `gateway` adds keys to the `gateway` section (YAML scalars as written, e.g. `{ rotate_every: '3s' }`);
   * `replica_id` is the slot unless `gateway` names another.
   */
  configFor(slot: string, extra = '', gateway: Record<string, string> = {}): string {
    const path = join(this.dir, `${slot}.yaml`);
    writeFileSync(
      path,
      `qq:
  app_id: "102000000"
  client_secret: simulator-secret
  token_url: ${this.sim.origin}/app/getAppAccessToken
  api_base: ${this.sim.origin}
redis:
${this.redisConnectionYaml ?? `  url: ${this.redis.url}`}
  prefix: "${this.prefix}"
server:
  listen: 127.0.0.1:0
journal:
  dir: ${join(this.dir, `journal-${slot}`)}
gateway:
  lease_ttl: ${LEASE_TTL_MS}ms
${Object.entries({ replica_id: slot, ...gateway })
  .map(([key, value]) => `  ${key}: ${value}\n`)
  .join('')}delivery:
  shutdown_grace: 5s
  stall_timeout: 3s
log:
  level: info
targets:
  - id: receiver
    url: ${this.receiver.url}
    secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
    allow_private: true
    timeout: 2s
    concurrency: 8
    retry: { attempts: 100, base: 100ms, max: 2s }
${extra}`,
    );
    return path;
  }

  /**
   * Starts a bridge process in `slot`; `extra` is YAML appended to its config (top-level keys), `gateway` keys of
   * its `gateway` section.
   */
  start(
    slot: string,
    role: 'all' | 'gateway' | 'worker' = 'all',
    extra = '',
    gateway: Record<string, string> = {},
  ): BridgeProcess {
    const bridge = spawnBridge(
      slot,
      ['run', '--config', this.configFor(slot, extra, gateway), '--role', role],
      this.logFile(slot),
    );
    this.bridges.push(bridge);
    return bridge;
  }

  logFile(slot: string): string {
    return join(this.dir, `${slot}.log`);
  }

  /** The tail of a bridge's log, for failure messages. */
  logTail(slot: string, lines = 40): string {
    try {
      return readFileSync(this.logFile(slot), 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** Emits `count` distinct events, `intervalMs` apart; `during(i)` runs before event i (to inject faults). */
  async stream(
    count: number,
    intervalMs: number,
    during?: (i: number) => Promise<void> | void,
  ): Promise<void> {
    for (let i = 0; i < count; i++) {
      await during?.(i);
      const { id } = this.sim.emit('GROUP_ADD_ROBOT', {
        group_openid: 'C9F778FE6ADF9D1D1DBE395BF744A33A',
        op_member_openid: 'E4F4AEA33253A2797FB897C50B81D7ED',
        timestamp: 1_700_000_000 + this.sent.length,
      });
      this.sent.push(id);
      if (intervalMs > 0) await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }

  /** SIGKILLs a bridge process and records when, so in-flight redeliveries can be told from duplicates. */
  async kill9(bridge: BridgeProcess): Promise<void> {
    this.kills.push(Date.now());
    await bridge.kill9();
  }

  report(): ChaosReport {
    const { acknowledged, firstAck } = this.receiver;
    const lost = this.sent.filter((id) => !acknowledged.has(id)).length;
    const twice = [...acknowledged.entries()].filter(([, n]) => n > 1).map(([id]) => id);
    const inFlight = twice.filter((id) => {
      const first = firstAck.get(id);
      if (!first) return false;
      return this.kills.some(
        (kill) => first.arrivedAt <= kill && first.ackedAt >= kill - IN_FLIGHT_WINDOW_MS,
      );
    });
    return {
      sent: this.sent.length,
      delivered: this.sent.length - lost,
      lost,
      duplicated: twice.length - inFlight.length,
      redeliveredAfterKill: inFlight.length,
    };
  }

  /** Waits until every sent event was acknowledged (or the timeout), then reports. */
  async settle(timeoutMs = 60_000): Promise<ChaosReport> {
    const deadline = Date.now() + timeoutMs;
    while (this.report().lost > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    // a short quiet period, so a late duplicate would still be counted
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const report = this.report();
    console.log(`chaos: ${JSON.stringify(report)}`);
    return report;
  }

  async close(): Promise<void> {
    for (const bridge of this.bridges) await bridge.kill9().catch(() => undefined);
    await this.receiver.close();
    await this.sim.close();
    await this.redis.cleanup();
  }
}
