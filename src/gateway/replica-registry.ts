import type { RedisClient } from '../redis/client.js';
import { BridgeError } from '../errors.js';
import { leaseKey, replicasKey } from '../redis/keys.js';
import { ownerOfValue, replicaIdOf } from './lease.js';

/**
 * Key of the set of live gateway replicas of one app: a sorted set of lease owner ids scored by the unix ms until
 * which each counts as live.
 */
export { replicasKey } from '../redis/keys.js';

// KEYS[1] replicas; ARGV[1] owner, ARGV[2] ttl ms. Redis's clock scores the members, so replicas on hosts whose
// clocks disagree still agree on who is live. Returns the live owners, this one included.
const REFRESH = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return redis.call('ZRANGE', KEYS[1], 0, -1)
`;

// KEYS[1] replicas; ARGV[1] owner, ARGV[2] its replica id's owner prefix (`<replica id>/`). Removes the entries of
// earlier runs of this replica, which a crash left behind, so they are not counted as live for their TTL.
const FORGET_EARLIER_RUNS = `
local removed = 0
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if member ~= ARGV[1] and string.sub(member, 1, #ARGV[2]) == ARGV[2]
    and not string.find(member, '/', #ARGV[2] + 1, true) then
    removed = removed + redis.call('ZREM', KEYS[1], member)
  end
end
return removed
`;

/**
 * The gateway replicas of one app that are alive, as each of them refreshes its own entry every lease round; an
 * entry not refreshed within the lease TTL (a crashed replica) is pruned. The shard balancer divides the planned
 * shards by how many there are.
 */
export class ReplicaRegistry {
  private readonly key: string;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly appId: string,
    private readonly owner: string,
    private readonly ttlMs: number,
  ) {
    this.key = replicasKey(prefix, appId);
  }

  /** Drops entries of earlier incarnations of this replica id; resolves with how many there were. */
  async forgetEarlierRuns(): Promise<number> {
    const prefix = `${replicaIdOf(this.owner)}/`;
    return Number(await this.redis.eval(FORGET_EARLIER_RUNS, 1, this.key, this.owner, prefix));
  }

  /** Marks this replica live for another TTL and resolves with every live replica's owner id, sorted. */
  async refresh(): Promise<string[]> {
    const reply = await this.redis.eval(REFRESH, 1, this.key, this.owner, this.ttlMs);
    if (!Array.isArray(reply) || !reply.every((member) => typeof member === 'string')) {
      throw new BridgeError(
        'BRIDGE_ERR_REDIS',
        `replica registry ${this.key} returned ${JSON.stringify(reply)}`,
      );
    }
    return reply.sort();
  }

  /** Removes this replica at a graceful stop, so peers count one fewer at once. */
  async leave(): Promise<void> {
    await this.redis.zrem(this.key, this.owner);
  }

  /**
   * The owner of each shard's lease now (undefined: free). One GET per shard, sent together: each shard's lease
   * has a hash tag of its own, so on a Cluster one MGET could not name them all.
   */
  async holders(shardIds: readonly number[]): Promise<Map<number, string | undefined>> {
    const holders = new Map<number, string | undefined>();
    if (shardIds.length === 0) return holders;
    const values = await Promise.all(
      shardIds.map((id) => this.redis.get(leaseKey(this.prefix, this.appId, id))),
    );
    shardIds.forEach((id, index) => {
      const value = values[index];
      holders.set(id, value ? ownerOfValue(value) : undefined);
    });
    return holders;
  }
}
