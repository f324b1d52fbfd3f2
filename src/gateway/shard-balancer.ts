import { createHash } from 'node:crypto';
import { replicaIdOf } from './lease.js';

/** What one lease round knows: who is live, who holds which shard, and what this replica holds. */
export interface BalanceInput {
  /** This replica's lease owner id. */
  self: string;
  /** Live replicas' owner ids (the registry), this one included. */
  replicas: readonly string[];
  /** The planned shard ids. */
  planned: readonly number[];
  /** The owner of each planned shard's lease, undefined when free (read from Redis this round). */
  holders: ReadonlyMap<number, string | undefined>;
  /** Shards this replica holds now. */
  held: readonly number[];
}

export interface BalancePlan {
  /** The most shards one replica may hold: ceil(planned / live replicas). */
  quota: number;
  /** Held shards to hand off this round (surplus over the quota, at most {@link MAX_HANDOFFS_PER_ROUND}). */
  release: number[];
  /** Shards to try to acquire, best first; the caller stops once it holds `quota`. */
  acquire: number[];
  /**
   * A shard is about to need a holder: one is free, or a live replica holds more than the quota and will hand
   * some off. A replica below the quota then runs its rounds more often, so a handed-off shard is dark briefly.
   */
  handoffPending: boolean;
}

/**
 * Hand-offs per round and replica. One: the receiving replica starts sessions one per QQ start slot anyway
 * (`max_concurrency` per 5 s), so handing off more at once would only leave the later ones dark for longer; and a
 * replica that misjudged the count (a registry entry just expiring) moves one shard, not all of them.
 */
export const MAX_HANDOFFS_PER_ROUND = 1;

/** ceil(S/N): with N live replicas no replica holds more, so S shards need at most N − 1 hand-offs to spread. */
export function shardQuota(plannedCount: number, replicaCount: number): number {
  return Math.ceil(plannedCount / Math.max(1, replicaCount));
}

/**
 * Rendezvous (highest random weight) score of a shard for a replica id: every replica computes the same order
 * without talking, a replica prefers to keep the shards it scores highest, and a restarted replica (same replica
 * id) prefers the same shards again. The replica id, not the incarnation, so the choice survives a restart.
 */
export function rendezvousScore(shardId: number, replicaId: string): number {
  return createHash('sha256').update(`${shardId}\u0000${replicaId}`).digest().readUInt32BE(0);
}

/** Decides one lease round: which held shards to hand off and which free ones to try for. Pure. */
export function planBalance(input: BalanceInput): BalancePlan {
  const { self, planned, holders, held } = input;
  const live = new Set(input.replicas);
  live.add(self);
  const quota = shardQuota(planned.length, live.size);
  const selfId = replicaIdOf(self);
  const byPreference = (ids: readonly number[]): number[] =>
    [...ids].sort((a, b) => rendezvousScore(b, selfId) - rendezvousScore(a, selfId) || a - b);

  const heldSet = new Set(held);
  // The surplus shards this replica scores lowest, a bounded number of them.
  const handOffs = Math.max(0, Math.min(held.length - quota, MAX_HANDOFFS_PER_ROUND));
  const ranked = byPreference(held);
  const release = ranked.slice(ranked.length - handOffs);

  // Free shards, and shards still held by an earlier run of this replica (not live: it crashed).
  const open = planned.filter((id) => {
    if (heldSet.has(id)) return false;
    const holder = holders.get(id);
    return holder === undefined || (replicaIdOf(holder) === selfId && !live.has(holder));
  });
  const acquire = held.length < quota ? byPreference(open) : [];

  const counts = new Map<string, number>();
  for (const holder of holders.values()) {
    if (holder !== undefined) counts.set(holder, (counts.get(holder) ?? 0) + 1);
  }
  const someoneAbove = [...counts].some(
    ([owner, count]) => owner !== self && live.has(owner) && count > quota,
  );
  return { quota, release, acquire, handoffPending: open.length > 0 || someoneAbove };
}
