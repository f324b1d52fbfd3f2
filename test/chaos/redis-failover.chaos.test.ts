/**
 * docs/design.md §5, "Durable means replicated": a Redis master killed with `-9` mid-stream, behind Sentinel and
 * in a Cluster, with `redis.min_replicas` at its default of 1 there. Every event the bridge acknowledged to QQ was
 * on a replica when the master died, so the promoted replica has it; what arrived during the failover waited in
 * the journal. Each scenario reports sent / delivered / lost / duplicated and asserts lost = 0 and duplicated = 0.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startRedisCluster, type RedisCluster } from '../helpers/redis-cluster.js';
import { startRedisSentinelSet, type RedisSentinelSet } from '../helpers/redis-sentinel.js';
import { ChaosWorld } from './world.js';

let world: ChaosWorld | undefined;
let sentinelSet: RedisSentinelSet | undefined;
let cluster: RedisCluster | undefined;
afterEach(async () => {
  await world?.close();
  await sentinelSet?.cleanup();
  await cluster?.cleanup();
  world = undefined;
  sentinelSet = undefined;
  cluster = undefined;
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function waitForFirstIdentify(w: ChaosWorld, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!w.sim.state().sessions.some((s) => s.connected)) {
    if (Date.now() > deadline) throw new Error(`the bridge never identified\n${w.logTail('a')}`);
    await sleep(50);
  }
}

describe('chaos: a Redis master killed mid-stream, no event lost', () => {
  it('Sentinel failover: kill -9 of the master; the replica is promoted and has every acknowledged event', async () => {
    sentinelSet = await startRedisSentinelSet({ appendonly: true });
    const set = sentinelSet;
    world = await ChaosWorld.create();
    const w = world;
    w.redisConnectionYaml = `  sentinel: { name: ${set.name}, nodes: [${set.sentinels.map((n) => `"${n}"`).join(', ')}] }`;
    w.start('a');
    await waitForFirstIdentify(w);
    const oldMaster = set.master.port;
    await w.stream(300, 5, async (i) => {
      if (i === 100) await set.master.stop();
    });
    await set.waitForFailover(oldMaster);
    const report = await w.settle(90_000);
    expect(report, w.logTail('a')).toMatchObject({ lost: 0, duplicated: 0, delivered: 300 });
  });

  it('Cluster master killed: kill -9 of the master of the bridge prefix slot; its replica takes over', async () => {
    cluster = await startRedisCluster({ appendonly: true });
    const c = cluster;
    world = await ChaosWorld.create();
    const w = world;
    w.redisConnectionYaml = `  cluster: { nodes: [${c.nodes.map((n) => `"${n}"`).join(', ')}] }`;
    w.start('a');
    await waitForFirstIdentify(w);
    const master = await c.masterOf(w.prefix);
    await w.stream(300, 5, async (i) => {
      if (i === 100) await c.kill(master);
    });
    await c.waitUntilHealthy();
    const report = await w.settle(90_000);
    expect(report, w.logTail('a')).toMatchObject({ lost: 0, duplicated: 0, delivered: 300 });
  });
});
