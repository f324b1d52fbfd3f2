import type { QqConfig } from '../config/types.js';
import type { DispatchFrame } from '../events/envelope.js';
import type { Logger } from '../log.js';
import type { QqOpenApi } from '../qq/openapi.js';
import { sleep } from '../util/abortable.js';
import {
  GatewaySession,
  type GatewaySessionHooks,
  type GatewaySessionOptions,
  type TokenSource,
} from './session.js';
import type { SessionStore } from './session-store.js';
import { planShards } from './shard-plan.js';

export interface ShardManagerOptions {
  qq: QqConfig;
  api: QqOpenApi;
  tokens: TokenSource;
  store: SessionStore;
  onDispatch: (frame: DispatchFrame, shard: [number, number]) => Promise<void>;
  logger: Logger;
  maxFrameBytes: number;
  hooks?: (shardId: number) => GatewaySessionHooks;
  /** Overrides for timings, used by tests to keep them fast. */
  sessionOverrides?: Partial<
    Pick<
      GatewaySessionOptions,
      | 'reconnectScheduleMs'
      | 'heartbeatGraceMs'
      | 'handshakeTimeoutMs'
      | 'invalidSessionDelayMs'
      | 'configErrorDelayMs'
      | 'random'
    >
  > & { shardStartIntervalMs?: number };
}

/**
 * Discovers the gateway, decides which shards this process holds and runs one session per shard, starting them
 * no faster than QQ's `max_concurrency` allows.
 */
export class ShardManager {
  private readonly sessions = new Map<number, GatewaySession>();
  private readonly abort = new AbortController();
  private gatewayUrl = '';

  constructor(private readonly options: ShardManagerOptions) {}

  async start(): Promise<void> {
    const { api, qq, logger } = this.options;
    const info = await api.gatewayBot();
    this.gatewayUrl = info.url;
    const plan = planShards(qq.shards, info);
    if (plan.warning) logger.warn(plan.warning);
    logger.info({ shards: plan.ids, total: plan.total, gateway: info.url }, 'starting gateway shards');
    const intervalMs = this.options.sessionOverrides?.shardStartIntervalMs ?? plan.startIntervalMs;
    for (const [index, shardId] of plan.ids.entries()) {
      if (this.abort.signal.aborted) return;
      if (index > 0) await sleep(intervalMs, this.abort.signal);
      const session = this.createSession(shardId, plan.total);
      this.sessions.set(shardId, session);
      await session.start();
    }
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.all([...this.sessions.values()].map((session) => session.stop()));
  }

  snapshot(): ReturnType<GatewaySession['snapshot']>[] {
    return [...this.sessions.values()].map((session) => session.snapshot());
  }

  private createSession(shardId: number, shardCount: number): GatewaySession {
    const { sessionOverrides, hooks } = this.options;
    const { shardStartIntervalMs: _ignored, ...timings } = sessionOverrides ?? {};
    const shardHooks = hooks?.(shardId);
    return new GatewaySession({
      ...timings,
      shardId,
      shardCount,
      intents: this.options.qq.intents,
      resolveGatewayUrl: () => this.resolveGatewayUrl(),
      tokens: this.options.tokens,
      store: this.options.store,
      onDispatch: this.options.onDispatch,
      logger: this.options.logger,
      maxFrameBytes: this.options.maxFrameBytes,
      ...(shardHooks ? { hooks: shardHooks } : {}),
    });
  }

  /** Re-discovers before each connection so a moved gateway is followed; falls back to the last known URL. */
  private async resolveGatewayUrl(): Promise<string> {
    try {
      this.gatewayUrl = await this.options.api.gateway();
    } catch (err) {
      this.options.logger.warn(
        { err: err instanceof Error ? err.message : String(err) },
        'gateway discovery failed; using the last known URL',
      );
    }
    return this.gatewayUrl;
  }
}
