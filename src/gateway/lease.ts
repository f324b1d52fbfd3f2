import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { BridgeError } from '../errors.js';

/** Key of one shard's lease; its value is `<owner>:<fencing token>`. */
export function leaseKey(prefix: string, appId: string, shardId: number): string {
  return `${prefix}:lease:${appId}:${shardId}`;
}

/**
 * Key of one shard's fencing counter. It never expires: tokens must keep rising across holders, or a stale holder
 * could not be told from the current one.
 */
export function leaseFenceKey(prefix: string, appId: string, shardId: number): string {
  return `${prefix}:lease-fence:${appId}:${shardId}`;
}

/**
 * A lease owner id unique to this process and this call: hostname and pid say who holds a shard when an operator
 * looks, the random part keeps two managers in one process (and a restarted process reusing a pid) apart.
 */
export function createLeaseOwnerId(): string {
  return `${hostname()}/${process.pid}/${randomBytes(4).toString('hex')}`;
}

// KEYS[1] lease, KEYS[2] fence counter; ARGV[1] owner, ARGV[2] ttl ms. A lease that already names this owner is
// adopted (TTL refreshed, same token): its earlier acquire succeeded but the reply was lost, or we gave it up
// locally while Redis was unreachable and it is in fact still ours.
const ACQUIRE = `
local current = redis.call('GET', KEYS[1])
if current then
  local prefix = ARGV[1] .. ':'
  if string.sub(current, 1, #prefix) == prefix then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return tonumber(string.sub(current, #prefix + 1))
  end
  return false
end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. token, 'PX', ARGV[2])
return token
`;

// KEYS[1] lease; ARGV[1] expected value, ARGV[2] ttl ms.
const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`;

// KEYS[1] lease; ARGV[1] expected value.
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`;

export interface ShardLeaseOptions {
  redis: Redis;
  /** The hash-tagged key prefix, so the lease, its counter and the session share one Cluster slot. */
  prefix: string;
  appId: string;
  shardId: number;
  /** From `createLeaseOwnerId()`. */
  owner: string;
  /** How long the lease lives without a renewal, in ms. */
  ttlMs: number;
}

/**
 * One shard's lease in Redis. The holder renews it well inside the TTL; when it stops renewing (crash, pause,
 * partition), the key expires and another replica acquires it with a higher fencing token. Session-state writes
 * check the lease value in the same Lua call (`FencedRedisSessionStore`), so a stale holder that wakes up cannot
 * overwrite the new holder's resume state.
 *
 * This object only remembers what Redis last told it; deciding when a lease must be presumed lost is the caller's
 * job (see `LeasedShard`).
 */
export class ShardLease {
  readonly key: string;
  private readonly fenceKey: string;
  private held: { token: number; value: string } | undefined;

  constructor(private readonly options: ShardLeaseOptions) {
    this.key = leaseKey(options.prefix, options.appId, options.shardId);
    this.fenceKey = leaseFenceKey(options.prefix, options.appId, options.shardId);
  }

  /** The fencing token while this process believes it holds the lease. */
  get token(): number | undefined {
    return this.held?.token;
  }

  /** `<owner>:<token>`, the value fenced writes must find in Redis, while this process believes it holds the lease. */
  get value(): string | undefined {
    return this.held?.value;
  }

  /**
   * Takes the lease if it is free and resolves with a new, higher fencing token; resolves with the existing token if
   * the lease already names this owner, and with null when another owner holds it.
   */
  async acquire(): Promise<number | null> {
    const { redis, owner, ttlMs } = this.options;
    const token = await redis.eval(ACQUIRE, 2, this.key, this.fenceKey, owner, ttlMs);
    if (token === null) return null;
    if (typeof token !== 'number' || !Number.isSafeInteger(token)) {
      throw new BridgeError('BRIDGE_ERR_REDIS', `lease acquire for ${this.key} returned ${typeof token}`);
    }
    this.held = { token, value: `${owner}:${token}` };
    return token;
  }

  /**
   * Extends the lease by a full TTL if it still holds our value. False means another owner has it (or it expired):
   * the lease is forgotten and the caller must stop acting as holder. A rejection means Redis did not answer; the
   * lease may or may not still be ours.
   */
  async renew(): Promise<boolean> {
    const held = this.held;
    if (!held) return false;
    const reply = await this.options.redis.eval(RENEW, 1, this.key, held.value, this.options.ttlMs);
    const renewed = Number(reply) === 1;
    if (!renewed && this.held === held) this.held = undefined;
    return renewed;
  }

  /** Deletes the lease if it still holds our value, so a peer can take over at once; true if it was ours. */
  async release(): Promise<boolean> {
    const held = this.held;
    if (!held) return false;
    this.held = undefined;
    const reply = await this.options.redis.eval(RELEASE, 1, this.key, held.value);
    return Number(reply) === 1;
  }

  /** Stops believing we hold the lease, without touching Redis (it may be unreachable). */
  forget(): void {
    this.held = undefined;
  }
}
