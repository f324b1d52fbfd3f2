/**
 * docs/design.md §5, "Durable means replicated": a Redis master killed with `-9` mid-stream, behind Sentinel and
 * in a Cluster, with `redis.min_replicas` at its default of 1 there. Every event the bridge acknowledged to QQ was
 * on a replica when the master died, so the promoted replica has it; what arrived during the failover waited in
 * the journal. Each scenario reports sent / delivered / lost / duplicated / repeats per target and asserts lost = 0
 * and only bounded repeats of in-flight deliveries; the Cluster one delivers to 3 targets whose queues sit on
 * different masters, and kills the master holding the most of them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startRedisCluster, type RedisCluster } from '../helpers/redis-cluster.js';
import { startRedisSentinelSet, type RedisSentinelSet } from '../helpers/redis-sentinel.js';
import { ChaosWorld, type ChaosReport } from './world.js';
import type { TwiceAcknowledged } from './redeliveries.js';
import { freshPrefix } from '../helpers/redis.js';
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
 * Nothing lost, and what a failover repeats is bounded and recognisable, for each target. Replication is
 * asynchronous, so a master that dies can take with it the completion of a delivery it had acknowledged (or the
 * lock of one in flight): the promoted replica still holds the job as active, the stalled-job check runs it again,
 * and the receiver gets the same event a second time with the same webhook-id, which it drops as a repeat. When the
 * completion's own write failed in the failover, BullMQ counts the run as a failed attempt and retries it, so the
 * repeat carries the next attempt number; either way it is one more copy of a delivery that was in flight. Such
 * repeats are at most a target's deliveries in flight around each failover; a third copy, or more repeats than
 * that, fails. Prints one `chaos:` line per target.
 */
function expectNoLossAndBoundedRepeats(
  reports: ReadonlyMap<string, ChaosReport>,
  logs: string,
  failovers = 1,
): void {
  const lines = [...reports].map(([target, report]) => {
    const isRepeat = (t: TwiceAcknowledged): boolean => t.deliveries.length === 2;
    const repeats = report.twiceAcknowledged.filter(isRepeat).length;
    const duplicated = report.twiceAcknowledged.length - repeats;
    return { target, report, repeats, duplicated };
  });
  for (const { target, report, repeats, duplicated } of lines) {
    console.log(
      `chaos: target ${target}: sent ${report.sent}, delivered ${report.delivered}, lost ${report.lost}, ` +
        `duplicated ${duplicated}, repeats ${repeats} (one more copy, same webhook-id, at most ` +
        `${IN_FLIGHT_PER_FAILOVER * failovers})`,
    );
  }
  // loss first, for every target: it is the guarantee; the repeats' shape and bound come after
  for (const { target, report } of lines) {
    expect(report, `target ${target}\n${logs}`).toMatchObject({ sent: 300, lost: 0, delivered: 300 });
  }
  for (const { target, report, repeats } of lines) {
    const what = `target ${target}\n${logs}`;
    for (const repeat of report.twiceAcknowledged) {
      expect(repeat.deliveries, `${target}: ${JSON.stringify(repeat)}`).toHaveLength(2);
    }
    expect(repeats, what).toBeLessThanOrEqual(IN_FLIGHT_PER_FAILOVER * failovers);
  }
}

/** Delivery targets of the Cluster scenario: enough that their queues spread over the masters. */
const CLUSTER_TARGETS = 3;
const APP_ID = '102000000';

/**
 * A key prefix under which the targets' queues are not all on one master, so killing one master mid-stream hits
 * some targets' queues and leaves others' alone (a prefix is random, and 1 in 9 put 3 targets on one of 3 masters).
 */
async function prefixSpreadOverMasters(c: RedisCluster, targetIds: readonly string[]): Promise<string> {
  for (let tries = 0; tries < 20; tries++) {
    const prefix = freshPrefix('chaos');
    const masters = await Promise.all(targetIds.map((id) => c.masterOf(targetQueuePrefix(prefix, id))));
    if (new Set(masters).size > 1) return prefix;
  }
  throw new Error('no prefix put the targets on more than one master in 20 tries');
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
    const reports = await w.settleTargets(90_000);
    expectNoLossAndBoundedRepeats(reports, w.logTail('a'));
  });

  it("Cluster master killed: kill -9 of the busiest master, then the shard's; no target loses an event", async () => {
    cluster = await startRedisCluster({ appendonly: true });
    const c = cluster;
    const targetIds = ['receiver', 'receiver-2', 'receiver-3'];
    world = await ChaosWorld.create({
      targets: CLUSTER_TARGETS,
      prefix: await prefixSpreadOverMasters(c, targetIds),
    });
    const w = world;
    expect(w.targetIds).toEqual(targetIds);
    w.redisConnectionYaml = `  cluster: { nodes: [${c.nodes.map((n) => `"${n}"`).join(', ')}] }`;
    w.start('a');
    await waitForFirstIdentify(w);
    // Where each target's delivery queue and the shard's lease and session live now.
    const queueMasters = new Map<string, number>();
    for (const id of w.targetIds) queueMasters.set(id, await c.masterOf(targetQueuePrefix(w.prefix, id)));
    const shardMaster = await c.masterOf(shardTag(w.prefix, APP_ID, 0));
    const load = new Map<number, number>();
    for (const port of [...queueMasters.values(), shardMaster]) load.set(port, (load.get(port) ?? 0) + 1);
    // most keys; on a tie, the one with more target queues (its death stalls more deliveries)
    const queuesOn = (port: number): number => [...queueMasters.values()].filter((p) => p === port).length;
    const busiest = [...load].sort((x, y) => y[1] - x[1] || queuesOn(y[0]) - queuesOn(x[0]))[0]![0];
    console.log(
      `chaos: cluster masters: ${[...queueMasters].map(([id, port]) => `${id} → ${port}`).join(', ')}, ` +
        `shard → ${shardMaster}; busiest ${busiest} (${load.get(busiest)} of ${CLUSTER_TARGETS + 1})`,
    );
    expect(new Set(queueMasters.values()).size, 'the targets are on more than one master').toBeGreaterThan(1);
    // The busiest master dies mid-stream; once the cluster has failed it over, so does the shard's master if it was
    // another one (one at a time: a 3-master cluster needs a majority of masters alive to fail one over, and the
    // busiest master's promoted replica has no replica of its own left to take over from it).
    const killed: number[] = [];
    await w.stream(300, 5, async (i) => {
      if (i === 100) {
        killed.push(busiest);
        await c.kill(busiest);
      }
      if (i === 200 && shardMaster !== busiest) {
        await c.waitUntilHealthy();
        const port = await c.masterOf(shardTag(w.prefix, APP_ID, 0));
        killed.push(port);
        await c.kill(port);
      }
    });
    console.log(
      `chaos: killed cluster masters ${killed.join(', ')} (the busiest, then the shard's if another)`,
    );
    await c.waitUntilHealthy();
    const reports = await w.settleTargets(90_000);
    expectNoLossAndBoundedRepeats(reports, w.logTail('a'), killed.length);
  });
});
