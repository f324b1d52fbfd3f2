import type { RedisClient } from '../redis/client.js';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { replicaIdOf } from './lease.js';
import type { LeasedShard } from './leased-shard.js';
import { ReplicaRegistry } from './replica-registry.js';
import { planBalance } from './shard-balancer.js';

export interface LeaseRoundsOptions {
  redis: RedisClient;
  prefix: string;
  appId: string;
  /** This process's lease owner id (`<replica id>/<incarnation>`). */
  owner: string;
  ttlMs: number;
  /** The planned shards, each standing by or holding. */
  shards: ReadonlyMap<number, LeasedShard>;
  logger: Logger;
  /** Aborted when the manager stops starting things: no further round is scheduled (stop() still cleans up). */
  signal?: AbortSignal;
}

/**
 * The round period of a replica below its quota while a shard is about to move: a handed-off shard then waits at
 * most this long for its new holder. Cheap: one registry script, one MGET and a few acquisitions, and only while a
 * hand-off is pending.
 */
const HANDOFF_ROUND_MS = 100;

/**
 * The lease loop of one gateway replica. Every TTL/3 it renews the held leases, marks this replica live in the
 * registry, and balances: with N live replicas and S planned shards it holds at most ceil(S/N), acquiring free
 * shards only below that and handing off one surplus shard per round above it (see `planBalance`). While a shard is
 * about to move (one is free, or a peer holds a surplus) and this replica is below its quota, rounds run every
 * {@link HANDOFF_ROUND_MS} instead, so the hand-off's dark time is the peer's stop plus one short round.
 */
export class LeaseRounds {
  private readonly registry: ReplicaRegistry;
  private readonly log: Logger;
  private readonly replicaId: string;
  /** Live processes seen with our replica id: never reclaimed from (see `ShardLease.acquire`). */
  private readonly twins = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> = Promise.resolve();
  private stopped = false;
  private registryFailing = false;

  constructor(private readonly options: LeaseRoundsOptions) {
    const { redis, prefix, appId, owner, ttlMs, logger } = options;
    this.registry = new ReplicaRegistry(redis, prefix, appId, owner, ttlMs);
    this.log = logger.child({ component: 'lease', owner });
    this.replicaId = replicaIdOf(owner);
  }

  /** Owners sharing our replica id that are alive; for `ShardLease`'s `liveTwins`. */
  liveTwins(): Iterable<string> {
    return this.twins;
  }

  /** A LeasedShard lost its lease to another live process of our replica id. */
  lostToTwin(holder: string): void {
    this.twins.add(holder);
  }

  /** Runs the first round (forgetting this replica's earlier, crashed runs first), then keeps rounds going. */
  async start(): Promise<void> {
    try {
      const earlier = await this.registry.forgetEarlierRuns();
      if (earlier > 0) {
        this.log.info(
          { earlier },
          'restarted with the same gateway.replica_id: dropped the earlier run from the replica registry; ' +
            'its leases are taken back in this round',
        );
      }
    } catch (err) {
      this.log.warn(
        { err: describeError(err) },
        'could not drop earlier runs of this replica from the registry (Redis unreachable?); they drop out ' +
          'after gateway.lease_ttl, and their leases are taken back then',
      );
    }
    if (this.stopped) return;
    await this.runRound();
  }

  /** Stops the rounds and takes this replica off the registry; the shards' own stop releases their leases. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.round;
    await this.registry.leave().catch(() => undefined);
  }

  private runRound(): Promise<void> {
    const startedAt = Date.now();
    this.round = this.balance()
      .catch((err: unknown) => {
        this.log.warn(
          { err: describeError(err) },
          'lease round failed (Redis unreachable?); held shards keep running, retrying next round',
        );
        return false;
      })
      .then((hurry) => {
        if (this.stopped || this.options.signal?.aborted) return;
        const roundMs = this.options.ttlMs / 3;
        const periodMs = hurry ? Math.min(roundMs, HANDOFF_ROUND_MS) : roundMs;
        this.timer = setTimeout(() => void this.runRound(), Math.max(0, periodMs - (Date.now() - startedAt)));
        this.timer.unref();
      });
    return this.round;
  }

  /** One round; resolves true when the next one should come soon (a shard is about to need this replica). */
  private async balance(): Promise<boolean> {
    const shards = [...this.options.shards.values()];
    const holding = (): LeasedShard[] => shards.filter((shard) => shard.token !== undefined);
    // Renewals first: they keep what we hold, whatever the registry says.
    await Promise.all(holding().map((shard) => shard.tick()));
    if (this.stopped) return false;

    let replicas: string[];
    let holders: Map<number, string | undefined>;
    try {
      replicas = await this.registry.refresh();
      holders = await this.registry.holders(shards.map((shard) => shard.shardId));
      if (this.registryFailing) this.log.info('replica registry reachable again');
      this.registryFailing = false;
    } catch (err) {
      // Without knowing who is live, do not take more: renewals above keep what is held.
      if (!this.registryFailing) {
        this.log.warn({ err: describeError(err) }, 'replica registry unreachable; renewing held shards only');
      }
      this.registryFailing = true;
      return false;
    }
    this.noteTwins(replicas);

    const plan = planBalance({
      self: this.options.owner,
      replicas,
      planned: shards.map((shard) => shard.shardId),
      holders,
      held: holding().map((shard) => shard.shardId),
    });
    for (const shardId of plan.release) {
      this.log.info(
        { shardId, quota: plan.quota, replicas: replicas.length, held: holding().length },
        "holding more shards than this replica's share; handing one off",
      );
      // Not awaited: the stop waits for received dispatches to become durable, and must not hold up the renewals
      // of the next round. The shard stops counting as held at once; stop() waits for the hand-off to finish.
      void this.options.shards.get(shardId)?.handOff();
    }
    for (const shardId of plan.acquire) {
      if (this.stopped || holding().length >= plan.quota) break;
      await this.options.shards.get(shardId)?.tick();
    }
    return plan.handoffPending && holding().length < plan.quota;
  }

  private noteTwins(replicas: readonly string[]): void {
    for (const owner of replicas) {
      if (owner === this.options.owner || replicaIdOf(owner) !== this.replicaId || this.twins.has(owner))
        continue;
      this.twins.add(owner);
      this.log.error(
        { other: owner },
        `another live gateway process uses gateway.replica_id "${this.replicaId}"; replica_id must be unique per ` +
          'process: give each one its own gateway.replica_id (or journal.dir, which the default is derived from). ' +
          'Neither takes leases back from the other meanwhile',
      );
    }
  }
}
