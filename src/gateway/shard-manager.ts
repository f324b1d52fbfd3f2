import type { RedisClient } from '../redis/client.js';
import type { QqConfig } from '../config/types.js';
import { BridgeError } from '../errors.js';
import type { DispatchFrame } from '../events/envelope.js';
import type { Logger } from '../log.js';
import type { QqOpenApi } from '../qq/openapi.js';
import { sleep } from '../util/abortable.js';
import { discoverGatewayAtStart } from './boot-discovery.js';
import { createLeaseOwnerId, ShardLease } from './lease.js';
import { LeaseRounds } from './lease-rounds.js';
import { LeasedShard } from './leased-shard.js';
import { ReconnectBackoff } from './reconnect-backoff.js';
import { RotatingShard } from './rotating-shard.js';
import type { SessionRole, ShardHooks } from './rotation.js';
import { GatewaySession, type GatewaySessionOptions, type TokenSource } from './session.js';
import type { GatewayUrlContext } from './session-options.js';
import { FencedRedisSessionStore, type SessionStore } from './session-store.js';
import type { ShardSession } from './shard-session.js';
import { planShards } from './shard-plan.js';
import { StartBudget } from './start-budget.js';

/** Where gateway replicas coordinate: one Redis lease per (app id, shard). */
export interface ShardLeaseSettings {
  /**
   * The connection for leases and fenced session state. A fail-fast connection (no offline queue) is best: a renewal
   * that cannot reach Redis should fail at once, not wait in a queue while the lease runs out.
   */
  redis: RedisClient;
  /** The hash-tagged key prefix (`redis.prefix`). */
  prefix: string;
  appId: string;
  /**
   * Lease TTL in ms (`gateway.lease_ttl`, default 10 s): a crashed holder's shards are taken over within about
   * this long. Renewals run every TTL/3; a holder that cannot renew for 3/4 of it stops its sessions.
   */
  ttlMs: number;
  /**
   * This replica's stable identity (`gateway.replica_id`): a restart with the same id takes back the leases of its
   * crashed earlier run at once instead of waiting out their TTL. Must be unique per running process.
   */
  replicaId: string;
}

export interface ShardManagerBaseOptions {
  qq: QqConfig;
  api: QqOpenApi;
  tokens: TokenSource;
  onDispatch: (frames: readonly DispatchFrame[], shard: [number, number]) => Promise<void>;
  logger: Logger;
  maxFrameBytes: number;
  /** Hooks of each shard, built per shard session with its shard `[shardId, shardCount]`. */
  hooks?: (shardId: number, shardCount: number) => ShardHooks;
  /**
   * `gateway.rotate_every` in ms: a session this old (since its READY) is replaced by a fresh one opened beside it
   * (RotatingShard); 0 or absent runs plain sessions. Not bounded here, so tests can rotate within seconds.
   */
  rotateEveryMs?: number;
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
  > & { shardStartIntervalMs?: number; rotationRetryDelaysMs?: readonly number[] };
}

/**
 * Either this process holds every planned shard (`store`), or it is one of several gateway replicas that share the
 * planned shards through leases (`leases`; resume state is then kept in a fenced Redis store built from them).
 */
export type ShardManagerOptions = ShardManagerBaseOptions &
  ({ store: SessionStore; leases?: undefined } | { leases: ShardLeaseSettings; store?: undefined });

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
  private gatewayUrl = '';
  private shardCount = 0;
  private startIntervalMs = 0;
  private nextStartAt = 0;
  private startQueue: Promise<void> = Promise.resolve();
  private leaseRounds: LeaseRounds | undefined;
  private readonly startBudget: StartBudget;

  constructor(private readonly options: ShardManagerOptions) {
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
    this.gatewayUrl = info.url;
    const plan = planShards(qq.shards, info);
    if (plan.warning) logger.warn(plan.warning);
    logger.info({ shards: plan.ids, total: plan.total, gateway: info.url }, 'starting gateway shards');
    this.shardCount = plan.total;
    this.startIntervalMs = this.options.sessionOverrides?.shardStartIntervalMs ?? plan.startIntervalMs;
    if (this.options.leases) return this.startLeased(plan.ids, this.options.leases);
    const store = this.options.store;
    for (const [index, shardId] of plan.ids.entries()) {
      if (this.abort.signal.aborted) return;
      if (index > 0) await sleep(this.startIntervalMs, this.abort.signal);
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
        pace: (start) => this.paced(start),
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

  /** Serializes session starts with the plan's spacing, whichever shard's lease arrives when. */
  private paced(start: () => Promise<void>): Promise<void> {
    const run = this.startQueue.then(async () => {
      const waitMs = this.nextStartAt - Date.now();
      if (waitMs > 0) await sleep(waitMs, this.abort.signal);
      if (this.abort.signal.aborted) return;
      this.nextStartAt = Date.now() + this.startIntervalMs;
      await start();
    });
    this.startQueue = run.catch(() => undefined);
    return run;
  }

  /** A plain session, or with `rotateEveryMs` a RotatingShard that replaces its sessions (same face either way). */
  private createSession(shardId: number, store: SessionStore, leased?: LeasedShard): ShardSession {
    const { sessionOverrides, hooks, rotateEveryMs = 0 } = this.options;
    const { shardStartIntervalMs: _ignored, rotationRetryDelaysMs, ...timings } = sessionOverrides ?? {};
    const shardHooks = hooks?.(shardId, this.shardCount);
    const resolveGatewayUrl = ({ rediscover }: GatewayUrlContext): Promise<string> =>
      leased ? this.resolveLeasedGatewayUrl(leased, rediscover) : this.resolveGatewayUrl(rediscover);
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
      pace: (start) => this.paced(start),
      handshakeTimeoutMs: timings.handshakeTimeoutMs ?? 30_000,
      retryDelaysMs: rotationRetryDelaysMs,
      logger: this.options.logger,
    });
  }

  /** A replica that lost a shard's lease must not connect (and RESUME) it again: that is the new holder's socket. */
  private async resolveLeasedGatewayUrl(shard: LeasedShard, rediscover: boolean): Promise<string> {
    if (!(await shard.confirm())) {
      throw new BridgeError('BRIDGE_ERR_REDIS', `lease lost: not reconnecting shard ${shard.shardId}`);
    }
    return this.resolveGatewayUrl(rediscover);
  }

  /**
   * The last known URL, unless `rediscover` (after a failed attempt, or for a rotation's successor): then the gateway
   * is discovered again, so a moved gateway is followed, falling back to the last known URL. A reconnect after a
   * healthy session (QQ cycling it) skips the HTTP round trip, which would only be dark time.
   */
  private async resolveGatewayUrl(rediscover: boolean): Promise<string> {
    if (!rediscover && this.gatewayUrl !== '') return this.gatewayUrl;
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
