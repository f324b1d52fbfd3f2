/**
 * docs/design.md §5, "Durable means replicated": a Redis master killed with `-9` mid-stream, behind Sentinel and
 * in a Cluster, with `redis.min_replicas` at its default of 1 there. Every event the bridge acknowledged to QQ was
 * on a replica when the master died, so the promoted replica has it; what arrived during the failover waited in
 * the journal. Each scenario reports sent / delivered / lost / duplicated and asserts lost = 0 and duplicated = 0.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startRedisCluster, type RedisCluster } from '../helpers/redis-cluster.js';
import { startRedisSentinelSet, type RedisSentinelSet } from '../helpers/redis-sentinel.js';
import { ChaosWorld, type ChaosReport } from './world.js';
import { shardTag, targetQueuePrefix } from '../../src/redis/keys.js';

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

/** Jobs a worker holds at once (`delivery.concurrency`, default 8): what one lost master can have had in flight. */
const IN_FLIGHT_PER_FAILOVER = 8;

/**
 * Nothing lost, and what a failover repeats is bounded and recognisable. Replication is asynchronous, so a master
 * that dies can take with it the completion of a delivery it had acknowledged (or the lock of one in flight): the
 * promoted replica still holds the job as active, the stalled-job check runs it again, and the receiver gets the
 * same event a second time with the same webhook-id and attempt number, which it drops as a repeat. Such repeats
 * are at most the deliveries in flight around each failover; anything else (another attempt number, a third copy)
 * fails.
 */
function expectNoLossAndBoundedRepeats(report: ChaosReport, logs: string, failovers = 1): void {
  expect(report, logs).toMatchObject({ lost: 0, delivered: 300 });
  expect(report.twiceAcknowledged.length, logs).toBeLessThanOrEqual(IN_FLIGHT_PER_FAILOVER * failovers);
  for (const repeat of report.twiceAcknowledged) {
    expect(repeat.deliveries, JSON.stringify(repeat)).toHaveLength(2);
    expect(new Set(repeat.deliveries.map((d) => d.attempt)).size, JSON.stringify(repeat)).toBe(1);
  }
  console.log(
    `chaos: repeated after a Redis failover (same webhook-id and attempt): ${report.twiceAcknowledged.length}`,
  );
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
    expectNoLossAndBoundedRepeats(report, w.logTail('a'));
  });

  it('Cluster master killed: kill -9 of the master of the target queue and the shard; replicas take over', async () => {
    cluster = await startRedisCluster({ appendonly: true });
    const c = cluster;
    world = await ChaosWorld.create();
    const w = world;
    w.redisConnectionYaml = `  cluster: { nodes: [${c.nodes.map((n) => `"${n}"`).join(', ')}] }`;
    w.start('a');
    await waitForFirstIdentify(w);
    // The master holding the target's delivery queue dies mid-stream; once the cluster has failed it over, so does
    // the master then holding the shard's lease and session (one at a time: a 3-master cluster needs a majority of
    // masters alive to fail one over).
    const killed: number[] = [];
    await w.stream(300, 5, async (i) => {
      if (i === 100) {
        killed.push(await c.masterOf(targetQueuePrefix(w.prefix, 'receiver')));
        await c.kill(killed[0]!);
      }
      if (i === 200) {
        await c.waitUntilHealthy();
        killed.push(await c.masterOf(shardTag(w.prefix, '102000000', 0)));
        await c.kill(killed[1]!);
      }
    });
    console.log(`chaos: killed cluster masters ${killed.join(', ')} (the queue's, then the shard's)`);
    await c.waitUntilHealthy();
    const report = await w.settle(90_000);
    expectNoLossAndBoundedRepeats(report, w.logTail('a'), 2);
  });
});
