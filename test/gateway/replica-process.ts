/**
 * A gateway replica in its own process, for the takeover, restart and balancing tests: forked with an IPC
 * channel, it reports dispatches and status changes (with the time it saw them) to the parent, which SIGKILLs it
 * (no shutdown, no lease release, no final persist) or SIGTERMs it (a graceful stop).
 * Environment: QQWB_SIM_ORIGIN, QQWB_PREFIX, QQWB_LEASE_TTL_MS, QQWB_REPLICA_ID (optional).
 */
import { startReplica } from '../helpers/replica.js';

export type ReplicaMessage =
  | { kind: 'dispatch'; shardId: number; t: string; s: number | null; id: string | undefined }
  | { kind: 'status'; shardId: number; status: string; at: number }
  | { kind: 'started'; held: number[] }
  | { kind: 'stopped' };

function send(message: ReplicaMessage): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!process.send) return reject(new Error('replica-process must be forked with an IPC channel'));
    process.send(message, (err: Error | null) => (err ? reject(err) : resolve()));
  });
}

const replicaId = process.env['QQWB_REPLICA_ID'];
const replica = await startReplica({
  simulatorOrigin: process.env['QQWB_SIM_ORIGIN'] ?? '',
  prefix: process.env['QQWB_PREFIX'] ?? '',
  ttlMs: Number(process.env['QQWB_LEASE_TTL_MS']),
  ...(replicaId ? { replicaId } : {}),
  // The parent has the event once this resolves, which is what "durable" means for this replica.
  onDispatch: async (frames, shard) => {
    for (const frame of frames) {
      await send({ kind: 'dispatch', shardId: shard[0], t: frame.t, s: frame.s ?? null, id: frame.id });
    }
  },
  onStatus: (shardId, status) =>
    void send({ kind: 'status', shardId, status, at: Date.now() }).catch(() => undefined),
});
process.once('SIGTERM', () => {
  void replica
    .stop()
    .then(() => send({ kind: 'stopped' }))
    .finally(() => process.exit(0));
});
await send({ kind: 'started', held: replica.held() });
