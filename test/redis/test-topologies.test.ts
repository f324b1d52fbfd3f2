import { Cluster, Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { startRedisCluster } from '../helpers/redis-cluster.js';
import { startRedisSentinelSet } from '../helpers/redis-sentinel.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

describe('test Redis topologies (real servers)', () => {
  it('a 3-master, 3-replica cluster serves every slot and fails a killed master over to its replica', async () => {
    const cluster = await startRedisCluster();
    cleanups.push(() => cluster.cleanup());
    const topology = await cluster.topology();
    expect(topology.filter((n) => n.role === 'master')).toHaveLength(3);
    expect(topology.filter((n) => n.role === 'replica')).toHaveLength(3);

    const client = new Cluster(
      cluster.nodes.map((node) => ({ host: '127.0.0.1', port: Number(node.split(':')[1]) })),
    );
    client.on('error', () => undefined); // the killed master's connection errors until the cluster moves on
    cleanups.push(() => Promise.resolve(client.disconnect()));
    await client.set('{a}k', '1');
    await client.set('{b}k', '2');
    const before = await cluster.masterOf('{a}k');
    await cluster.kill(before);
    await cluster.waitUntilHealthy();
    const after = await cluster.masterOf('{a}k');
    expect(after).not.toBe(before);
    expect(await client.get('{b}k')).toBe('2');
  }, 60_000);

  it('a Sentinel set promotes the replica when the master is killed', async () => {
    const set = await startRedisSentinelSet({ password: 'data-secret', sentinelPassword: 'sentinel-secret' });
    cleanups.push(() => set.cleanup());
    const masterPort = await set.masterPort();
    expect(masterPort).toBe(set.master.port);
    const client = new Redis({
      sentinels: [{ host: '127.0.0.1', port: set.sentinel.port }],
      name: set.name,
      password: 'data-secret',
      sentinelPassword: 'sentinel-secret',
    });
    client.on('error', () => undefined); // the killed master's connection errors until the Sentinel fails over
    cleanups.push(() => Promise.resolve(client.disconnect()));
    await client.set('k', 'v');
    await set.master.stop();
    const promoted = await set.waitForFailover(masterPort);
    expect(promoted).toBe(set.replica.port);
    expect(await client.get('k')).toBe('v');
  }, 60_000);
});
