import { randomBytes } from 'node:crypto';
import type { RedisClient } from '../redis/client.js';
import { BridgeError } from '../errors.js';
import { leaseFenceKey, leaseKey } from '../redis/keys.js';
import { legacyLeaseKey } from '../redis/legacy-keys.js';

/**
 * A shard's lease key (value `<owner>:<fencing token>`) and its fencing counter, which never expires: tokens must
 * keep rising across holders, or a stale holder could not be told from the current one.
 */
export { leaseFenceKey, leaseKey } from '../redis/keys.js';

/**
 * The lease owner id of one process: `<replica id>/<incarnation>`. The replica id (`gateway.replica_id`) is stable
 * across restarts, so a restarted replica recognises the leases of its own earlier run; the incarnation is random per
 * process (and per manager), so that earlier run is still told apart from this one.
 */
export function createLeaseOwnerId(replicaId: string): string {
  return `${replicaId}/${randomBytes(4).toString('hex')}`;
}

/** The replica id part of a lease owner id or lease value; the whole owner for a value without a `/`. */
export function replicaIdOf(ownerOrValue: string): string {
  const owner = ownerOfValue(ownerOrValue);
  const slash = owner.lastIndexOf('/');
  return slash < 0 ? owner : owner.slice(0, slash);
}

/** The owner part of a lease value `<owner>:<token>` (a replica id holds no `:`). */
export function ownerOfValue(value: string): string {
  const colon = value.lastIndexOf(':');
  return colon < 0 ? value : value.slice(0, colon);
}

/** What an acquisition found: the lease is ours now (how), or another owner holds it. */
export type LeaseAcquisition =
  | { kind: 'acquired' | 'adopted'; token: number }
  /** Taken from an earlier incarnation of this replica (`previous`, its owner id) with a new fencing token. */
  | { kind: 'reclaimed'; token: number; previous: string }
  | { kind: 'held'; holder: string };

// KEYS[1] lease, KEYS[2] fence counter; ARGV[1] owner, ARGV[2] ttl ms, ARGV[3] this replica's owner prefix
// (`<replica id>/`), ARGV[4..] owners never to reclaim from (live processes that share our replica id).
// A lease that already names this owner is adopted (TTL refreshed, same token): its earlier acquire succeeded but
// the reply was lost, or we gave it up locally while Redis was unreachable and it is in fact still ours.
// A lease naming another incarnation of this replica belongs to an earlier run that crashed (a live process never
// shares its replica id): it is taken back at once with a new token, rather than waiting out its TTL.
const ACQUIRE = `
local current = redis.call('GET', KEYS[1])
if current then
  local mine = ARGV[1] .. ':'
  if string.sub(current, 1, #mine) == mine then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return {'adopted', tonumber(string.sub(current, #mine + 1))}
  end
  local holder = string.match(current, '^(.*):[^:]*$') or current
  if string.sub(current, 1, #ARGV[3]) ~= ARGV[3] or string.find(holder, '/', #ARGV[3] + 1, true) then
    return {'held', holder}
  end
  for i = 4, #ARGV do
    if holder == ARGV[i] then return {'held', holder} end
  end
  local token = redis.call('INCR', KEYS[2])
  redis.call('SET', KEYS[1], ARGV[1] .. ':' .. token, 'PX', ARGV[2])
  return {'reclaimed', token, holder}
end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. token, 'PX', ARGV[2])
return {'acquired', token}
`;

// KEYS[1] lease; ARGV[1] expected value, ARGV[2] ttl ms. Refused: the value found instead ('' for none), so the
// caller can tell who took the lease.
const RENEW = `
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return current or ''
`;

// KEYS[1] lease; ARGV[1] expected value.
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`;

export interface ShardLeaseOptions {
  redis: RedisClient;
  /** The hash-tagged key prefix, so the lease, its counter and the session share one Cluster slot. */
  prefix: string;
  appId: string;
  shardId: number;
  /** From `createLeaseOwnerId()`. */
  owner: string;
  /**
   * Owners of our replica id that must not be reclaimed from: live processes misconfigured with the same
   * `gateway.replica_id` (see `IncarnationGuard`). Others of our replica id are earlier, crashed runs.
   */
  liveTwins?: () => Iterable<string>;
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
  private holder: string | undefined;

  constructor(private readonly options: ShardLeaseOptions) {
    this.key = leaseKey(options.prefix, options.appId, options.shardId);
    this.fenceKey = leaseFenceKey(options.prefix, options.appId, options.shardId);
  }

  /** This process's owner id (`<replica id>/<incarnation>`). */
  get owner(): string {
    return this.options.owner;
  }

  /** The fencing token while this process believes it holds the lease. */
  get token(): number | undefined {
    return this.held?.token;
  }

  /** `<owner>:<token>`, the value fenced writes must find in Redis, while this process believes it holds the lease. */
  get value(): string | undefined {
    return this.held?.value;
  }

  /** The owner found holding the lease by the last refused renewal or acquisition; undefined if it was free. */
  get lastHolder(): string | undefined {
    return this.holder;
  }

  /**
   * Takes the lease if it is free or held by an earlier run of this replica (a new, higher fencing token); adopts
   * it with its token if it already names this owner; otherwise reports who holds it.
   */
  async acquire(): Promise<LeaseAcquisition> {
    const { redis, owner, ttlMs } = this.options;
    const legacy = await this.legacyHolder();
    if (legacy !== undefined) {
      this.holder = legacy;
      return { kind: 'held', holder: legacy };
    }
    const twins = [...(this.options.liveTwins?.() ?? [])];
    const prefix = `${replicaIdOf(owner)}/`;
    const reply = await redis.eval(ACQUIRE, 2, this.key, this.fenceKey, owner, ttlMs, prefix, ...twins);
    const result = parseAcquisition(reply, this.key);
    if (result.kind === 'held') {
      this.holder = result.holder;
      return result;
    }
    this.holder = undefined;
    this.held = { token: result.token, value: `${owner}:${result.token}` };
    return result;
  }

  /**
   * The holder of this shard's lease in the old key layout, when it is another replica: one of the earlier version
   * still running during a rolling upgrade, whose shard must not be opened twice. It lets go (stops, or its lease
   * runs out) and the shard is taken here. An old lease of this replica id was left by its own earlier run, and does
   * not count. Read before the acquiring script, which cannot name a key of another hash tag.
   */
  private async legacyHolder(): Promise<string | undefined> {
    const { redis, prefix, appId, shardId, owner } = this.options;
    const value = await redis.get(legacyLeaseKey(prefix, appId, shardId));
    if (value === null) return undefined;
    return replicaIdOf(value) === replicaIdOf(owner) ? undefined : ownerOfValue(value);
  }

  /**
   * Extends the lease by a full TTL if it still holds our value. False means another owner has it (or it expired):
   * the lease is forgotten (`lastHolder` says who has it) and the caller must stop acting as holder. A rejection
   * means Redis did not answer; the lease may or may not still be ours.
   */
  async renew(): Promise<boolean> {
    const held = this.held;
    if (!held) return false;
    const reply = await this.options.redis.eval(RENEW, 1, this.key, held.value, this.options.ttlMs);
    const renewed = reply === 1;
    if (!renewed && this.held === held) {
      this.held = undefined;
      this.holder = typeof reply === 'string' && reply !== '' ? ownerOfValue(reply) : undefined;
    }
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

function parseAcquisition(reply: unknown, key: string): LeaseAcquisition {
  if (Array.isArray(reply)) {
    const [kind, second, third] = reply as unknown[];
    if (kind === 'held' && typeof second === 'string') return { kind, holder: second };
    if (typeof second === 'number' && Number.isSafeInteger(second)) {
      if (kind === 'acquired' || kind === 'adopted') return { kind, token: second };
      if (kind === 'reclaimed' && typeof third === 'string') return { kind, token: second, previous: third };
    }
  }
  throw new BridgeError(
    'BRIDGE_ERR_REDIS',
    `lease acquire for ${key} returned an unexpected ${JSON.stringify(reply)}`,
  );
}
