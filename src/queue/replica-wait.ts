/**
 * "Durable" means replicated: Redis acknowledges a write before its replicas have it, so a failover can lose an
 * acknowledged enqueue. After the write, `WAIT minReplicas timeout` on the connection that carried it (WAIT counts
 * the replicas that reached that connection's last write) decides whether the write may be acknowledged upstream.
 * Too few in time, and the write is reported as not durable: the caller treats it as a failed enqueue (the event
 * goes to the journal, the API answers 503), and the idempotent re-enqueue later waits again.
 */
import calculateSlot from 'cluster-key-slot';
import type { Cluster, Redis } from 'ioredis';
import type { RedisConfig } from '../config/types.js';
import { BridgeError } from '../errors.js';

/** `redis.min_replicas` and `redis.replica_wait_timeout`. */
export interface ReplicaWaitPolicy {
  /** Replicas that must confirm a write before it counts as durable; 0 sends no WAIT at all. */
  readonly minReplicas: number;
  /** How long WAIT blocks for them; never 0, which would make WAIT block forever. */
  readonly timeoutMs: number;
}

/** No WAIT: a write is durable once the master acknowledged it. */
export const NO_REPLICA_WAIT: ReplicaWaitPolicy = { minReplicas: 0, timeoutMs: 0 };

/** The policy `redis.min_replicas` / `redis.replica_wait_timeout` configure. */
export function replicaWaitPolicy(redis: RedisConfig): ReplicaWaitPolicy {
  return { minReplicas: redis.minReplicas, timeoutMs: redis.replicaWaitTimeoutMs };
}

/** The one TCP connection a write went over, and what identifies it across reconnects. */
interface WaitTarget {
  readonly node: Redis;
  readonly label: string;
  /** ioredis replaces `stream` on every reconnect: a different one means WAIT would not see the write. */
  readonly stream: unknown;
}

/**
 * Runs `write` (which writes `keys`, all on `connection`), then waits until `policy.minReplicas` replicas of each
 * master those keys live on confirmed it. Resolves with the write's result; rejects with
 * `BRIDGE_ERR_NOT_REPLICATED` when WAIT reached too few replicas in time, or the connection or the slot's master
 * changed between the write and the WAIT (WAIT would then not cover the write). With `minReplicas` 0 this is
 * `write()` alone: no extra round trip.
 */
export async function replicated<T>(
  connection: Redis | Cluster,
  keys: readonly string[],
  policy: ReplicaWaitPolicy,
  write: () => Promise<T>,
): Promise<T> {
  if (policy.minReplicas === 0) return write();
  // Resolved before the write where possible (a Cluster knows its slots once connected), compared after the WAIT.
  const before = connectedTargets(waitTargets(connection, keys));
  const result = await write();
  const targets = before ?? waitTargets(connection, keys);
  if (!targets) throw notReplicated('the cluster has no master for the written slot');
  await Promise.all(targets.map((target) => waitOn(target, policy)));
  const after = waitTargets(connection, keys);
  const moved = targets.find((target, index) => after?.[index]?.stream !== target.stream);
  if (moved) {
    throw notReplicated(
      `the connection to ${moved.label} changed between the write and WAIT; the write may not be replicated`,
    );
  }
  return result;
}

async function waitOn(target: WaitTarget, policy: ReplicaWaitPolicy): Promise<void> {
  const reached = await target.node.wait(policy.minReplicas, policy.timeoutMs);
  if (reached < policy.minReplicas) {
    throw notReplicated(
      `${reached} of ${policy.minReplicas} replicas of ${target.label} confirmed the write within ` +
        `${policy.timeoutMs} ms (redis.min_replicas); check the replicas (INFO replication on the master) or ` +
        'lower redis.min_replicas',
    );
  }
}

/**
 * The connections to WAIT on, one per distinct master of `keys`: the connection itself for one Redis (plain or
 * behind Sentinel); for a Cluster, the node connection its slot map routes each key's slot to (a keyless WAIT
 * sent to the Cluster would go to a random node). Undefined while a Cluster does not know a slot's master.
 */
function waitTargets(connection: Redis | Cluster, keys: readonly string[]): WaitTarget[] | undefined {
  if (!isCluster(connection)) {
    return [{ node: connection, label: 'the master', stream: connection.stream }];
  }
  const masters = new Map<string, Redis>(
    connection.nodes('master').map((node) => [`${node.options.host}:${node.options.port}`, node]),
  );
  const targets = new Map<string, WaitTarget>();
  for (const key of keys) {
    const nodeKey = connection.slots[calculateSlot(key)]?.[0];
    const node = nodeKey === undefined ? undefined : masters.get(nodeKey);
    if (!nodeKey || !node) return undefined;
    targets.set(nodeKey, { node, label: `master ${nodeKey}`, stream: node.stream });
  }
  return [...targets.values()];
}

function isCluster(connection: Redis | Cluster): connection is Cluster {
  return connection.isCluster;
}

/** Targets that all have a connection yet; a lazy one gets its first only with the write, so look again after. */
function connectedTargets(targets: WaitTarget[] | undefined): WaitTarget[] | undefined {
  return targets?.every((target) => target.stream !== undefined) ? targets : undefined;
}

function notReplicated(detail: string): BridgeError {
  return new BridgeError('BRIDGE_ERR_NOT_REPLICATED', `redis write not durable: ${detail}`);
}
