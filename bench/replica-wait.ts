/**
 * `node --import tsx bench/replica-wait.ts [events]`: what `redis.min_replicas` costs. Starts its own master and
 * replica (`redis-server` on free loopback ports, no persistence), then enqueues the same events with the real
 * producer with min_replicas 0 (no WAIT) and 1 (a WAIT after each enqueue), in the same run: one event per enqueue
 * (the gateway's direct path, one dispatch per accept) and 500 per enqueue (a journal drain). Prints ev/s per mode,
 * the ratios, and the WAIT calls the master counted. Both servers are killed and their data removed at the end.
 */
import { loadavg } from 'node:os';
import { Redis } from 'ioredis';
import type { TargetConfig } from '../src/config/types.js';
import { enqueueEntryWith } from '../src/queue/durable-sink.js';
import { DRAIN_BATCH_ENTRIES, type JournalEntry } from '../src/queue/journal.js';
import { DeliveryProducer } from '../src/queue/producer.js';
import { NO_REPLICA_WAIT, type ReplicaWaitPolicy } from '../src/queue/replica-wait.js';
import { startRedisServer, type RedisServer } from '../test/helpers/redis-server.js';
import { waitCalls, waitForOnlineReplicas } from '../test/helpers/replica-wait.js';
import { BENCH_EVENT_TYPE, benchEventData, nowMs } from './payload.js';
import { SIM_APP_ID } from './pipes.js';
import { round } from './stats.js';

const WARM_UP_EVENTS = 1_000;
const ONE_REPLICA: ReplicaWaitPolicy = { minReplicas: 1, timeoutMs: 500 };

const target: TargetConfig = {
  id: 'bench',
  url: 'http://127.0.0.1:9/events',
  secrets: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
  events: ['*'],
  groups: [],
  headers: {},
  timeoutMs: 2_000,
  concurrency: 8,
  retry: { attempts: 5, baseMs: 1_000, maxMs: 60_000 },
  includeRaw: false,
  allowPrivate: true,
};

function entry(seq: number, run: string): JournalEntry {
  return {
    frame: {
      op: 0,
      s: seq,
      t: BENCH_EVENT_TYPE,
      id: `${BENCH_EVENT_TYPE}:${run}-${seq}`,
      d: benchEventData(seq, nowMs()),
    },
    shard: [0, 1],
    receivedAt: new Date().toISOString(),
  };
}

/** Enqueues `events` events, `perEnqueue` at a time, one enqueue after the other; returns events per second. */
async function rate(
  redis: Redis,
  run: string,
  events: number,
  perEnqueue: number,
  replicaWait: ReplicaWaitPolicy,
): Promise<number> {
  const producer = new DeliveryProducer({
    connection: redis,
    prefix: `{qqwb-bench-wait}:${run}`,
    targets: [target],
    dedupeWindowMs: 3_600_000,
    replicaWait,
  });
  try {
    const enqueue = enqueueEntryWith(producer, SIM_APP_ID);
    const entries = Array.from({ length: events }, (_, i) => entry(i + 1, run));
    const startedAt = performance.now();
    for (let from = 0; from < entries.length; from += perEnqueue) {
      await enqueue(entries.slice(from, from + perEnqueue));
    }
    return events / ((performance.now() - startedAt) / 1000);
  } finally {
    await producer.close();
  }
}

async function main(): Promise<void> {
  const events = Number(process.argv[2] ?? 5_000);
  if (!Number.isSafeInteger(events) || events <= 0)
    throw new Error(`events must be a positive integer, got ${process.argv[2]}`);
  const servers: RedisServer[] = [];
  const redis = new Redis({ lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    const master = await startRedisServer();
    servers.push(master);
    servers.push(await startRedisServer({ settings: [['replicaof', `127.0.0.1 ${master.port}`]] }));
    await waitForOnlineReplicas(master.port, 1);
    redis.options.port = master.port;
    await redis.connect();
    await rate(redis, 'warm-up', WARM_UP_EVENTS, 1, ONE_REPLICA);
    const results: string[] = [];
    for (const perEnqueue of [1, DRAIN_BATCH_ENTRIES]) {
      const before = await waitCalls(master.port);
      const none = await rate(redis, `none-${perEnqueue}`, events, perEnqueue, NO_REPLICA_WAIT);
      const afterNone = await waitCalls(master.port);
      const one = await rate(redis, `one-${perEnqueue}`, events, perEnqueue, ONE_REPLICA);
      const waits = (await waitCalls(master.port)) - afterNone;
      results.push(
        `  ${perEnqueue} per enqueue: min_replicas 0 ${Math.round(none)} ev/s (${afterNone - before} WAIT); ` +
          `min_replicas 1 ${Math.round(one)} ev/s (${waits} WAIT); 1 / 0 = ${round(one / none, 2)}`,
      );
    }
    const load = loadavg()
      .map((l) => round(l, 2))
      .join(' ');
    console.log(`replica wait, ${events} events, 1 target, master + 1 replica on loopback, load ${load}:`);
    for (const line of results) console.log(line);
  } finally {
    redis.disconnect();
    await Promise.all(servers.map((server) => server.cleanup()));
  }
}

await main();
