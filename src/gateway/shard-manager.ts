import { sleep } from '../util/abortable.js';
import { discoverGatewayAtStart } from './boot-discovery.js';
import { GatewayUrlSource } from './gateway-url.js';
import { createLeaseOwnerId, ShardLease } from './lease.js';
import { LeaseRounds } from './lease-rounds.js';
import { LeasedShard } from './leased-shard.js';
import { ReconnectBackoff } from './reconnect-backoff.js';
import { RotatingShard } from './rotating-shard.js';
import type { SessionRole } from './rotation.js';
import { GatewaySession } from './session.js';
import type { GatewayUrlContext } from './session-options.js';
import { FencedRedisSessionStore, type SessionStore } from './session-store.js';
import type { ShardLeaseSettings, ShardManagerOptions } from './shard-manager-options.js';
import type { ShardSession } from './shard-session.js';
import { planShards } from './shard-plan.js';
import { StartBudget } from './start-budget.js';
import { StartPacer } from './start-pacer.js';

export type {
  ShardLeaseSettings,
  ShardManagerBaseOptions,
  ShardManagerOptions,
} from './shard-manager-options.js';

/** One shard this process runs; `lease` is present in lease mode and carries the holding term's fencing token. */
export type ShardSnapshot = ReturnType<GatewaySession['snapshot']> & { lease?: { token: number } };

/**
 * Discovers the gateway, decides which shards this process holds and runs one session per shard, starting them
 * no faster than QQ's `max_concurrency` allows.
 *
 * With `leases`, a shard's session runs only while this replica holds the shard's lease. A loop every TTL/3
 * (`LeaseRounds`) renews held leases, acquires free ones up to this replica's share of the live replicas and hands
 * off a surplus; a newly acquired shard starts a session that loads the previous holder's persisted session and
 * RESUMEs it, which is how a takeover or a hand-off loses nothing.
 */
export class ShardManager {
  private readonly sessions = new Map<number, ShardSession>();
  private readonly leased = new Map<number, LeasedShard>();
  private readonly abort = new AbortController();
  private readonly gatewayUrl: GatewayUrlSource;
  private readonly pacer = new StartPacer(this.abort.signal);
  private shardCount = 0;
  private leaseRounds: LeaseRounds | undefined;
  private readonly startBudget: StartBudget;

  constructor(private readonly options: ShardManagerOptions) {
    this.gatewayUrl = new GatewayUrlSource(options.api, options.logger);
    const retryMs = options.sessionOverrides?.rotationRetryDelaysMs?.[0] ?? 60_000;
    this.startBudget = new StartBudget({
      api: options.api,
      shardCount: () => this.shardCount,
      logger: options.logger,
      discoveryRetryMs: retryMs,
      maxWaitMs: Math.max(options.rotateEveryMs ?? 0, retryMs),
    });
  }

  /**
   * Starts the planned shards' sessions; with leases, only those whose lease this replica acquires in its first
   * round (the others are tried in later rounds, as the balance allows). Gateway discovery is retried until it succeeds (see
   * {@link discoverGatewayAtStart}). Returns early, starting nothing more, once stop() is called or `signal` aborts.
   */
  async start(signal?: AbortSignal): Promise<void> {
    // An abandoned start stops starting things, as stop() does; stop() still has to stop what did start.
    const abandon = (): void => this.abort.abort();
    if (signal?.aborted) abandon();
    signal?.addEventListener('abort', abandon, { once: true });
    try {
      await this.startShards();
    } finally {
      signal?.removeEventListener('abort', abandon);
    }
  }

  private async startShards(): Promise<void> {
    const { api, qq, logger, sessionOverrides } = this.options;
    const info = await discoverGatewayAtStart({
      api,
      logger,
      backoff: new ReconnectBackoff(sessionOverrides?.reconnectScheduleMs, sessionOverrides?.random),
      signal: this.abort.signal,
    });
    if (!info) return;
    this.gatewayUrl.remember(info.url);
    const plan = planShards(qq.shards, info);
    if (plan.warning) logger.warn(plan.warning);
    logger.info({ shards: plan.ids, total: plan.total, gateway: info.url }, 'starting gateway shards');
    this.shardCount = plan.total;
    this.pacer.intervalMs = this.options.sessionOverrides?.shardStartIntervalMs ?? plan.startIntervalMs;
    if (this.options.leases) return this.startLeased(plan.ids, this.options.leases);
    const store = this.options.store;
    for (const [index, shardId] of plan.ids.entries()) {
      if (this.abort.signal.aborted) return;
      if (index > 0) await sleep(this.pacer.intervalMs, this.abort.signal);
      const session = this.createSession(shardId, store);
      this.sessions.set(shardId, session);
      await session.start();
    }
  }

  /** Stops every session (each persists its state), then releases held leases so a peer can take over at once. */
  async stop(): Promise<void> {
    this.abort.abort();
    // An acquisition in flight must land before stop() can hand its lease back.
    await this.leaseRounds?.stop();
    await Promise.all([
      ...[...this.sessions.values()].map((session) => session.stop()),
      ...[...this.leased.values()].map((shard) => shard.stop()),
    ]);
  }

  /** The shards this process runs (in lease mode: holds, including one whose session waits for its start slot). */
  snapshot(): ShardSnapshot[] {
    if (!this.options.leases) return [...this.sessions.values()].map((session) => session.snapshot());
    const held: ShardSnapshot[] = [];
    for (const shard of this.leased.values()) {
      const token = shard.token;
      if (token === undefined) continue;
      const base = shard.current?.snapshot() ?? {
        shard: [shard.shardId, this.shardCount] as [number, number],
        status: 'idle' as const,
        seq: null,
        saveFailing: false,
      };
      held.push({ ...base, lease: { token } });
    }
    return held;
  }

  private async startLeased(shardIds: readonly number[], settings: ShardLeaseSettings): Promise<void> {
    const { redis, prefix, appId, ttlMs } = settings;
    const owner = createLeaseOwnerId(settings.replicaId);
    const rounds = new LeaseRounds({
      redis,
      prefix,
      appId,
      owner,
      ttlMs,
      shards: this.leased,
      logger: this.options.logger,
      signal: this.abort.signal,
    });
    this.leaseRounds = rounds;
    for (const shardId of shardIds) {
      const lease = new ShardLease({
        redis,
        prefix,
        appId,
        shardId,
        owner,
        ttlMs,
        liveTwins: () => rounds.liveTwins(),
      });
      const shard: LeasedShard = new LeasedShard(shardId, {
        lease,
        ttlMs,
        logger: this.options.logger,
        pace: (start) => this.pacer.pace(start),
        onLostToTwin: (holder) => rounds.lostToTwin(holder),
        // Each holding term's session writes under that term's lease value only (see SessionFence).
        createSession: (leaseValue) =>
          this.createSession(
            shardId,
            new FencedRedisSessionStore(redis, prefix, appId, {
              valueFor: () => leaseValue,
              onRefused: () => shard.fenceRefused(leaseValue),
            }),
            shard,
          ),
      });
      this.leased.set(shardId, shard);
    }
    this.options.logger.info(
      { owner, shards: shardIds, ttlMs },
      'gateway replica competing for shard leases',
    );
    await rounds.start();
    await Promise.all([...this.leased.values()].map((shard) => shard.starting));
  }

  /** A plain session, or with `rotateEveryMs` a RotatingShard that replaces its sessions (same face either way). */
  private createSession(shardId: number, store: SessionStore, leased?: LeasedShard): ShardSession {
    const { sessionOverrides, hooks, rotateEveryMs = 0 } = this.options;
    const { shardStartIntervalMs: _ignored, rotationRetryDelaysMs, ...timings } = sessionOverrides ?? {};
    const shardHooks = hooks?.(shardId, this.shardCount);
    const resolveGatewayUrl = ({ rediscover }: GatewayUrlContext): Promise<string> =>
      leased ? this.gatewayUrl.resolveLeased(leased, rediscover) : this.gatewayUrl.resolve(rediscover);
    const session = (role: Partial<SessionRole>) =>
      new GatewaySession({
        ...timings,
        shardId,
        shardCount: this.shardCount,
        intents: this.options.qq.intents,
        resolveGatewayUrl,
        tokens: this.options.tokens,
        store,
        onDispatch: this.options.onDispatch,
        logger: this.options.logger,
        maxFrameBytes: this.options.maxFrameBytes,
        ...(shardHooks ? { hooks: shardHooks } : {}),
        ...role,
      });
    if (!(rotateEveryMs > 0)) return session({});
    return new RotatingShard({
      shardId,
      rotateEveryMs,
      store,
      createSession: session,
      resolveGatewayUrl,
      hooks: shardHooks,
      checkBudget: (id) => this.startBudget.check(id),
      pace: (start) => this.pacer.pace(start),
      handshakeTimeoutMs: timings.handshakeTimeoutMs ?? 30_000,
      retryDelaysMs: rotationRetryDelaysMs,
      logger: this.options.logger,
    });
  }
}
