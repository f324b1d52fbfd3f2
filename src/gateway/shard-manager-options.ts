import type { RedisClient } from '../redis/client.js';
import type { QqConfig } from '../config/types.js';
import type { DispatchFrame } from '../events/envelope.js';
import type { Logger } from '../log.js';
import type { QqOpenApi } from '../qq/openapi.js';
import type { ShardHooks } from './rotation.js';
import type { GatewaySessionOptions, TokenSource } from './session-options.js';
import type { SessionStore } from './session-store.js';

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
      | 'saveIntervalMs'
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
