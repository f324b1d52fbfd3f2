import type { Redis } from 'ioredis';
import type { DispatchFrame } from '../../src/events/envelope.js';
import type { ShardStatus } from '../../src/gateway/session.js';
import { ShardManager } from '../../src/gateway/shard-manager.js';
import { silentLogger } from '../../src/log.js';
import { AccessTokenManager } from '../../src/qq/access-token.js';
import { QqOpenApi } from '../../src/qq/openapi.js';
import { connectSingleRedis } from '../../src/redis/connections.js';
import { testConfig } from './config.js';
import { REDIS_URL } from './redis.js';

/** One gateway replica: a lease-mode ShardManager with its own Redis connection, as one bridge process has. */
export interface Replica {
  readonly manager: ShardManager;
  readonly redis: Redis;
  /** Event dispatches (READY/RESUMED are not passed to onDispatch), in arrival order. */
  readonly dispatched: { shardId: number; t: string; s: number | null; id: string | undefined }[];
  /** Every status change with its time, per shard. */
  readonly statuses: { shardId: number; status: ShardStatus; at: number }[];
  /** Shard ids this replica holds now. */
  held(): number[];
  stop(): Promise<void>;
}

export interface ReplicaOptions {
  simulatorOrigin: string;
  prefix: string;
  ttlMs: number;
  /** `gateway.replica_id`; default a fresh one per replica (from its own journal directory). */
  replicaId?: string;
  /** Called after the dispatch is recorded; the dispatch is durable once it resolves. */
  onDispatch?: (frames: readonly DispatchFrame[], shard: [number, number]) => Promise<void>;
  onStatus?: (shardId: number, status: ShardStatus) => void;
  /** `gateway.rotate_every` in ms; default 0 (off). */
  rotateEveryMs?: number;
}

/** Builds and starts a replica against a simulator, with fast reconnects. */
export async function startReplica(options: ReplicaOptions): Promise<Replica> {
  const config = testConfig({
    simulatorOrigin: options.simulatorOrigin,
    prefix: options.prefix,
    ...(options.replicaId !== undefined ? { replicaId: options.replicaId } : {}),
  });
  const logger = silentLogger();
  // Fail fast like the app's connection: a renewal that cannot reach Redis fails instead of queueing.
  const redis = connectSingleRedis(REDIS_URL, 'producer');
  redis.on('error', () => undefined);
  await redis.connect();
  const tokens = new AccessTokenManager({
    tokenUrl: config.qq.tokenUrl,
    appId: config.qq.appId,
    clientSecret: config.qq.clientSecret,
    logger,
  });
  const api = new QqOpenApi({ apiBase: config.qq.apiBase, appId: config.qq.appId, tokens });
  const dispatched: Replica['dispatched'] = [];
  const statuses: Replica['statuses'] = [];
  const manager = new ShardManager({
    qq: config.qq,
    api,
    tokens,
    logger,
    maxFrameBytes: config.gateway.maxFrameBytes,
    leases: {
      redis,
      prefix: options.prefix,
      appId: config.qq.appId,
      ttlMs: options.ttlMs,
      replicaId: config.gateway.replicaId,
    },
    rotateEveryMs: options.rotateEveryMs ?? 0,
    sessionOverrides: {
      reconnectScheduleMs: [20, 50],
      invalidSessionDelayMs: [10, 20],
      shardStartIntervalMs: 0,
    },
    hooks: (shardId) => ({
      onStatus: (status) => {
        statuses.push({ shardId, status, at: Date.now() });
        options.onStatus?.(shardId, status);
      },
    }),
    onDispatch: async (frames, shard) => {
      for (const frame of frames)
        dispatched.push({ shardId: shard[0], t: frame.t, s: frame.s ?? null, id: frame.id });
      await options.onDispatch?.(frames, shard);
    },
  });
  await manager.start();
  return {
    manager,
    redis,
    dispatched,
    statuses,
    held: () => manager.snapshot().map((s) => s.shard[0]),
    async stop() {
      tokens.stop();
      await manager.stop();
      redis.disconnect();
    },
  };
}
