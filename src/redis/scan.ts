/**
 * SCAN over a whole keyspace. One node's SCAN sees only that node's keys, so on a Cluster every master is scanned;
 * and a multi-key DEL must stay within one slot there, so deletes go one key per call on a Cluster.
 */
import { Cluster, type Redis } from 'ioredis';
import type { RedisClient } from './client.js';

/** The nodes whose keys together are the keyspace: every master of a Cluster, else the one connection. */
export function keyspaceNodes(client: RedisClient): Redis[] {
  return client instanceof Cluster ? client.nodes('master') : [client];
}

/** Every key matching `pattern`, handed over a batch at a time (SCAN until the cursor is 0, on each node). */
export async function scanKeys(
  client: RedisClient,
  pattern: string,
  onBatch: (keys: string[]) => Promise<void>,
): Promise<void> {
  for (const node of keyspaceNodes(client)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await onBatch(keys);
    } while (cursor !== '0');
  }
}

/** Deletes `keys`: one DEL for a single node, one DEL per key on a Cluster (keys may be in different slots). */
export async function deleteKeys(client: RedisClient, keys: readonly string[]): Promise<void> {
  if (keys.length === 0) return;
  if (client instanceof Cluster) await Promise.all(keys.map((key) => client.del(key)));
  else await client.del(...keys);
}
