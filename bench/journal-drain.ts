/**
 * `node --import tsx bench/journal-drain.ts [events]`: how fast the local journal moves a backlog into Redis, in
 * batches (as the durable sink drains it) and one event per round trip, next to the direct path (the same events
 * enqueued without the journal), in the same run, against the same Redis, with the real producer. Prints one line
 * per mode and the ratios. Redis comes from `$REDIS_URL` (default `redis://127.0.0.1:6379`); every key the run
 * wrote is deleted at the end.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { connectSingleRedis } from '../src/redis/connections.js';
import type { TargetConfig } from '../src/config/types.js';
import { silentLogger } from '../src/log.js';
import { enqueueEntryWith } from '../src/queue/durable-sink.js';
import { DRAIN_BATCH_ENTRIES, Journal, type JournalEntry } from '../src/queue/journal.js';
import { DeliveryProducer } from '../src/queue/producer.js';
import { BENCH_EVENT_TYPE, benchEventData, nowMs } from './payload.js';
import { SIM_APP_ID } from './pipes.js';
import { deletePrefix, runPrefix } from './redis.js';
import { round } from './stats.js';

const WARM_UP_EVENTS = 2_000;
const APPEND_CHUNK = 1_000;

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

function entry(seq: number): JournalEntry {
  return {
    frame: {
      op: 0,
      s: seq,
      t: BENCH_EVENT_TYPE,
      id: `${BENCH_EVENT_TYPE}:bench-${seq}`,
      d: benchEventData(seq, nowMs()),
    },
    shard: [0, 1],
    receivedAt: new Date().toISOString(),
  };
}

type Enqueue = (entries: readonly JournalEntry[]) => Promise<void>;

/** Runs `measure` with the real producer's enqueue into `prefix`; returns events per second. */
async function rate(
  redis: Redis,
  prefix: string,
  events: number,
  measure: (enqueue: Enqueue, entries: JournalEntry[]) => Promise<number>,
): Promise<number> {
  const producer = new DeliveryProducer({
    connection: redis,
    prefix,
    targets: [target],
    dedupeWindowMs: 3_600_000,
  });
  try {
    const entries = Array.from({ length: events }, (_, i) => entry(i + 1));
    const seconds = await measure(enqueueEntryWith(producer, SIM_APP_ID), entries);
    return events / seconds;
  } finally {
    await producer.close();
  }
}

/** Journals the entries in a fresh directory, then times a drain with at most `maxEntries` per enqueue. */
function drained(maxEntries: number) {
  return async (enqueue: Enqueue, entries: JournalEntry[]): Promise<number> => {
    const dir = await mkdtemp(join(tmpdir(), 'qqwb-bench-journal-'));
    const journal = await Journal.open({ dir, maxBytes: 1 << 30, logger: silentLogger() });
    try {
      for (let from = 0; from < entries.length; from += APPEND_CHUNK) {
        await journal.append(entries.slice(from, from + APPEND_CHUNK));
      }
      const startedAt = performance.now();
      const handled = await journal.drain(enqueue, { maxEntries });
      if (handled !== entries.length) throw new Error(`drained ${handled} of ${entries.length} events`);
      return (performance.now() - startedAt) / 1000;
    } finally {
      await journal.close();
      await rm(dir, { recursive: true, force: true });
    }
  };
}

/** Times the same entries enqueued straight, in drain-sized batches: the direct path, a drain's ceiling. */
async function direct(enqueue: Enqueue, entries: JournalEntry[]): Promise<number> {
  const startedAt = performance.now();
  for (let from = 0; from < entries.length; from += DRAIN_BATCH_ENTRIES) {
    await enqueue(entries.slice(from, from + DRAIN_BATCH_ENTRIES));
  }
  return (performance.now() - startedAt) / 1000;
}

async function main(): Promise<void> {
  const events = Number(process.argv[2] ?? 10_000);
  if (!Number.isSafeInteger(events) || events <= 0)
    throw new Error(`events must be a positive integer, got ${process.argv[2]}`);
  const url = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
  const redis = connectSingleRedis(url, 'command');
  await redis.connect();
  const prefix = runPrefix();
  try {
    await rate(redis, `${prefix}:warm-up`, WARM_UP_EVENTS, drained(DRAIN_BATCH_ENTRIES));
    const batched = await rate(redis, `${prefix}:batched`, events, drained(DRAIN_BATCH_ENTRIES));
    const single = await rate(redis, `${prefix}:single`, events, drained(1));
    const straight = await rate(redis, `${prefix}:direct`, events, direct);
    const load = loadavg()
      .map((l) => round(l, 2))
      .join(' ');
    console.log(`journal drain, ${events} events, 1 target, redis ${url}, load ${load}:`);
    console.log(`  batched (${DRAIN_BATCH_ENTRIES} per enqueue): ${Math.round(batched)} ev/s`);
    console.log(`  one per round trip: ${Math.round(single)} ev/s`);
    console.log(`  direct, no journal (${DRAIN_BATCH_ENTRIES} per enqueue): ${Math.round(straight)} ev/s`);
    console.log(
      `  batched / one per round trip: ${round(batched / single, 1)}; batched / direct: ${round(batched / straight, 2)}`,
    );
  } finally {
    const deleted = await deletePrefix(redis, prefix);
    console.log(`  · cleanup: ${deleted} Redis keys under ${prefix} deleted`);
    redis.disconnect();
  }
}

await main();
