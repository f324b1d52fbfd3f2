import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { freshPrefix } from '../helpers/redis.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { spawnBridge, type BridgeProcess } from './bridge-process.js';
import {
  startCountingReceiver,
  type AcknowledgedDelivery,
  type CountingReceiver,
} from './counting-receiver.js';
import {
  activeDeliveryJobs,
  classifyTwiceAcknowledged,
  jobTraces,
  type Kill,
  type TwiceAcknowledged,
} from './redeliveries.js';

export interface ChaosReport {
  sent: number;
  delivered: number;
  lost: number;
  /** Events acknowledged more than once that are not {@link ChaosReport.redeliveredAfterKill}. */
  duplicated: number;
  /**
   * Events acknowledged more than once because their delivery was in flight when a delivering process was
   * SIGKILLed: the killed worker never recorded the outcome, so the stalled-job check queued the job again and it
   * was delivered again with the same webhook-id (at-least-once delivery, which receivers absorb by deduplicating
   * on webhook-id). Told from duplicates by the evidence in Redis, not by a clock: see
   * {@link classifyTwiceAcknowledged}.
   */
  redeliveredAfterKill: number;
  /** The evidence behind both counts, per event acknowledged more than once. */
  twiceAcknowledged: TwiceAcknowledged[];
}

/** The first (by default the only) target of every chaos world; it receives on the receiver's `/events`. */
export const RECEIVER_TARGET_ID = 'receiver';

export interface ChaosWorldOptions {
  /**
   * How many targets the bridge delivers every event to, default 1: `receiver`, then `receiver-2`, `receiver-3`…,
   * all at the counting receiver, each on its own path (`/events`, `/events/receiver-2`…) so each is counted apart.
   */
  targets?: number;
  /** `redis.prefix`; default a fresh one. */
  prefix?: string;
}

/** `gateway.lease_ttl` of every bridge process in a chaos world, in ms. */
export const LEASE_TTL_MS = 2_000;

/**
 * One chaos scenario's world: its own redis-server (AOF, fsync always), the QQ simulator, a counting receiver,
 * and real bridge processes started from a generated config. Everything is torn down by `close()`.
 */
export class ChaosWorld {
  readonly sent: string[] = [];
  /** Each SIGKILL of a delivering process, with the delivery jobs active at that moment. */
  readonly kills: Kill[] = [];
  private readonly activeReads: Promise<void>[] = [];
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
    /** The targets every event is delivered to, in config order. */
    readonly targetIds: readonly string[],
  ) {}

  static async create(options: ChaosWorldOptions = {}): Promise<ChaosWorld> {
    const redis = await startRedisServer({ appendonly: true });
    const sim = await startSimulator({ heartbeatIntervalMs: 1_000 });
    const receiver = await startCountingReceiver();
    const targetIds = Array.from({ length: options.targets ?? 1 }, (_, i) =>
      i === 0 ? RECEIVER_TARGET_ID : `${RECEIVER_TARGET_ID}-${i + 1}`,
    );
    return new ChaosWorld(redis, sim, receiver, options.prefix ?? freshPrefix('chaos'), targetIds);
  }

  /** The URL path a target's deliveries arrive on at the receiver. */
  targetPath(targetId: string): string {
    return targetId === RECEIVER_TARGET_ID ? '/events' : `/events/${targetId}`;
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
${this.targetIds
  .map(
    (id) => `  - id: ${id}
    url: ${this.receiver.origin}${this.targetPath(id)}
    secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
    allow_private: true
    timeout: 2s
    concurrency: 8
    retry: { attempts: 100, base: 100ms, max: 2s }
`,
  )
  .join('')}${extra}`,
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

  /**
   * SIGKILLs a bridge process and records when, and which delivery jobs were active in Redis once it was dead (the
   * ones whose outcome it can no longer record), so in-flight redeliveries can be told from duplicates. The read
   * does not hold up the caller (a restart right after the kill, a dark-time measurement): {@link report} awaits
   * it. A process started meanwhile can only add its own jobs to the set, which the classification tolerates (a
   * stalled-job check needs the lock, `delivery.stall_timeout`, to expire before it moves a dead worker's job).
   */
  async kill9(bridge: BridgeProcess): Promise<void> {
    const kill: Kill = { at: Date.now(), activeJobIds: undefined };
    await bridge.kill9();
    this.kills.push(kill);
    this.activeReads.push(
      activeDeliveryJobs(this.redis.url, this.prefix).then((ids) => {
        kill.activeJobIds = ids;
      }),
    );
  }

  /** How many sent events the receiver has not acknowledged yet. */
  lostCount(): number {
    const { acknowledged } = this.receiver;
    return this.sent.filter((id) => !acknowledged.has(id)).length;
  }

  /** How many sent events the receiver has not acknowledged yet on a target's path. */
  lostCountFor(targetId: string): number {
    const acknowledged = this.receiver.acknowledgedByPath.get(this.targetPath(targetId));
    return this.sent.filter((id) => acknowledged?.has(id) !== true).length;
  }

  /** Counts, with the evidence behind every event acknowledged more than once (read from Redis). */
  async report(): Promise<ChaosReport> {
    return this.reportOn(this.receiver.acknowledged, this.receiver.deliveries, RECEIVER_TARGET_ID);
  }

  /** {@link report} for one target: only what the receiver acknowledged on its path. */
  async reportFor(targetId: string): Promise<ChaosReport> {
    const path = this.targetPath(targetId);
    return this.reportOn(
      this.receiver.acknowledgedByPath.get(path) ?? new Map<string, number>(),
      this.receiver.deliveries.filter((d) => d.path === path),
      targetId,
    );
  }

  private async reportOn(
    acknowledged: ReadonlyMap<string, number>,
    deliveries: readonly AcknowledgedDelivery[],
    targetId: string,
  ): Promise<ChaosReport> {
    await Promise.all(this.activeReads);
    const lost = this.sent.filter((id) => !acknowledged.has(id)).length;
    const twice = [...acknowledged.entries()].filter(([, n]) => n > 1).map(([id]) => id);
    const jobs = await jobTraces(this.redis.url, this.prefix, twice, targetId);
    const twiceAcknowledged = twice.map((id) =>
      classifyTwiceAcknowledged(
        id,
        deliveries.filter((d) => d.id === id),
        jobs.get(id),
        this.kills,
      ),
    );
    const redelivered = twiceAcknowledged.filter((t) => t.verdict === 'redelivered after kill').length;
    return {
      sent: this.sent.length,
      delivered: this.sent.length - lost,
      lost,
      duplicated: twice.length - redelivered,
      redeliveredAfterKill: redelivered,
      twiceAcknowledged,
    };
  }

  /** Waits until every sent event was acknowledged (or the timeout), then reports. */
  async settle(timeoutMs = 60_000): Promise<ChaosReport> {
    const deadline = Date.now() + timeoutMs;
    while (this.lostCount() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    // a short quiet period, so a late duplicate would still be counted
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const report = await this.report();
    console.log(`chaos: ${JSON.stringify(report)}`);
    return report;
  }

  /** Waits until every target acknowledged every sent event (or the timeout), then reports per target. */
  async settleTargets(timeoutMs = 60_000): Promise<Map<string, ChaosReport>> {
    const deadline = Date.now() + timeoutMs;
    const unsettled = (): boolean => this.targetIds.some((id) => this.lostCountFor(id) > 0);
    while (unsettled() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const reports = new Map<string, ChaosReport>();
    for (const id of this.targetIds) reports.set(id, await this.reportFor(id));
    return reports;
  }

  async close(): Promise<void> {
    for (const bridge of this.bridges) await bridge.kill9().catch(() => undefined);
    await this.receiver.close();
    await this.sim.close();
    await this.redis.cleanup();
  }
}
