/** Reading what Redis itself says about WAIT and replication, for the `redis.min_replicas` tests and bench. */
import { Redis } from 'ioredis';

/** How many WAIT commands the server on `port` has run (`INFO commandstats`, `cmdstat_wait:calls=N`). */
export async function waitCalls(port: number): Promise<number> {
  const redis = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await redis.connect();
    const info = await redis.info('commandstats');
    return Number(/^cmdstat_wait:calls=(\d+)/m.exec(info)?.[1] ?? 0);
  } finally {
    redis.disconnect();
  }
}

/** Resolves once the master on `port` has `count` replicas online (`INFO replication`). */
export async function waitForOnlineReplicas(port: number, count: number, timeoutMs = 15_000): Promise<void> {
  const redis = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await redis.connect();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const info = await redis.info('replication');
      if ((info.match(/^slave\d+:.*state=online/gm) ?? []).length >= count) return;
      if (Date.now() > deadline) throw new Error(`master ${port} has not ${count} online replicas:\n${info}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    redis.disconnect();
  }
}

/** The ports of the replicas the master on `port` lists (`INFO replication`). */
export async function replicaPortsOf(port: number): Promise<number[]> {
  const redis = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await redis.connect();
    const info = await redis.info('replication');
    return [...info.matchAll(/^slave\d+:.*port=(\d+)/gm)].map((match) => Number(match[1]));
  } finally {
    redis.disconnect();
  }
}
