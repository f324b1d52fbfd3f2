import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isBridgeError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import {
  DurableSink,
  enqueueEntryWith,
  type DurableSinkOptions,
  type SinkMode,
} from '../../src/queue/durable-sink.js';
import { DRAIN_BATCH_ENTRIES, Journal, type JournalEntry } from '../../src/queue/journal.js';
import { DeliveryProducer } from '../../src/queue/producer.js';
import { deliveryQueue } from '../../src/queue/delivery-queue.js';
import { testTarget } from '../helpers/config.js';
import { deletePrefix, freshPrefix, REDIS_URL } from '../helpers/redis.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { captureLogs, journalEntry, range, tempDir, waitUntil } from './journal-fixtures.js';

const APP_ID = '102000000';
const TARGET = testTarget({ id: 'backend', url: 'http://127.0.0.1:9/events' });

/** Everything a test opened, closed in reverse order afterwards, whatever happened. */
const cleanups: (() => Promise<unknown>)[] = [];
let dir: string;

beforeEach(async () => {
  const temp = await tempDir('sink');
  dir = temp.path;
  cleanups.push(temp.remove);
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

async function openJournal(maxBytes = 1024 * 1024): Promise<Journal> {
  const journal = await Journal.open({ dir, maxBytes, logger: silentLogger() });
  cleanups.push(() => journal.close());
  return journal;
}

function sinkWith(
  options: Omit<DurableSinkOptions, 'logger'> & { logger?: DurableSinkOptions['logger'] },
): DurableSink {
  const sink = new DurableSink({ logger: silentLogger(), retryIntervalMs: 50, ...options });
  cleanups.push(() => sink.stop());
  return sink;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const seqOf = (entry: JournalEntry): number => entry.frame.s ?? -1;

/**
 * The connection options the gateway's producer needs: a command fails at once while Redis is away (no offline
 * queue) or after one reconnect attempt (in flight when the link dropped), instead of waiting for Redis.
 */
function failFastConnection(url: string): Redis {
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 1_000,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1_000),
  });
  redis.on('error', () => undefined); // reconnects are expected here; the sink logs what matters
  return redis;
}

async function realProducer(url: string, prefix: string): Promise<DeliveryProducer> {
  const connection = failFastConnection(url);
  await connection.connect();
  const producer = new DeliveryProducer({ connection, prefix, targets: [TARGET], dedupeWindowMs: 3_600_000 });
  cleanups.push(async () => {
    await producer.close();
    connection.disconnect();
  });
  return producer;
}

/** The target's waiting jobs, oldest first, as event ids. */
async function queuedEventIds(url: string, prefix: string): Promise<string[]> {
  const connection = new Redis(url);
  const queue = deliveryQueue(TARGET.id, prefix, connection);
  try {
    const jobs = await queue.getJobs(['wait'], 0, -1, true);
    return jobs.map((job) => job.data.eventId);
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

/**
 * A stand-in for the producer's enqueue whose Redis the test switches up, down or hanging. It tests the sink's
 * routing alone; the tests further down use the real producer and a real Redis.
 */
class ScriptedEnqueue {
  up = true;
  hang = false;
  readonly enqueued: number[] = [];
  /** The seqs of each successful enqueue call. */
  readonly batches: number[][] = [];
  mostAtOnce = 0;
  private running = 0;

  readonly enqueue = async (entries: readonly JournalEntry[]): Promise<void> => {
    if (this.hang) return new Promise(() => undefined);
    this.running += 1;
    this.mostAtOnce = Math.max(this.mostAtOnce, this.running);
    try {
      await sleep(2);
      if (!this.up) throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
      this.enqueued.push(...entries.map(seqOf));
      this.batches.push(entries.map(seqOf));
    } finally {
      this.running -= 1;
    }
  };
}

describe('DurableSink routing (scripted enqueue)', () => {
  it('journals while enqueue fails, drains in order once it works, then enqueues directly again', async () => {
    const journal = await openJournal();
    const redis = new ScriptedEnqueue();
    const logs = captureLogs();
    const sink = sinkWith({ journal, logger: logs.logger, enqueue: redis.enqueue });
    await sink.accept([journalEntry(1)]);
    expect(sink.mode()).toBe('direct');
    redis.up = false;
    for (const n of range(2, 4)) await sink.accept([journalEntry(n)]);
    expect(sink.mode()).toBe('journaling');
    expect(sink.depth()).toBe(3);
    redis.up = true;
    // Redis is back but the journal is not empty yet: these must queue behind it, not overtake it.
    for (const n of range(5, 6)) await sink.accept([journalEntry(n)]);
    await waitUntil(() => sink.mode() === 'direct', 'the journal to drain');
    await sink.accept([journalEntry(7)]);
    expect(redis.enqueued).toEqual(range(1, 7));
    expect(sink.depth()).toBe(0);
    expect(journal.bytes).toBe(0);
    const warn = logs.lines.find((line) => line.level === 40);
    expect(warn).toMatchObject({ err: 'connect ECONNREFUSED 127.0.0.1:6379' });
    expect(logs.lines.find((line) => line.msg.includes('journal drained'))).toMatchObject({
      level: 30,
      drained: 5,
    });
  });

  it('once the journal is down to its last batch and redis works, a new event waits for the drain and goes direct', async () => {
    const journal = await openJournal();
    await journal.append(range(1, 3).map((n) => journalEntry(n))); // left by a previous run
    const redis = new ScriptedEnqueue();
    const sink = sinkWith({ journal, enqueue: redis.enqueue });
    sink.start();
    await sink.accept([journalEntry(4)]);
    // Not appended behind the drain: enqueued on its own once the drain's batch was in, and the sink is direct.
    expect(sink.mode()).toBe('direct');
    expect(redis.batches).toEqual([[1, 2, 3], [4]]);
    expect(journal.bytes).toBe(0);
  });

  it('journals an event whose enqueue hangs past enqueueTimeoutMs', async () => {
    const journal = await openJournal();
    const redis = new ScriptedEnqueue();
    redis.hang = true;
    const sink = sinkWith({ journal, enqueueTimeoutMs: 100, enqueue: redis.enqueue });
    const startedAt = performance.now();
    await sink.accept([journalEntry(1)]);
    expect(performance.now() - startedAt).toBeLessThan(1_000);
    expect(sink.depth()).toBe(1);
    redis.hang = false;
    await waitUntil(() => sink.mode() === 'direct', 'the journal to drain');
    expect(redis.enqueued).toEqual([1]);
  });

  it('goes straight to the journal while isRedisReady() says no, and drains once it says yes', async () => {
    const journal = await openJournal();
    const redis = new ScriptedEnqueue();
    let ready = false;
    const sink = sinkWith({ journal, isRedisReady: () => ready, enqueue: redis.enqueue });
    await sink.accept([journalEntry(1)]);
    await sleep(150); // several retry intervals: no attempt is made while not ready
    expect(redis.enqueued).toEqual([]);
    expect(sink.mode()).toBe('journaling');
    ready = true;
    await waitUntil(() => sink.mode() === 'direct', 'the journal to drain');
    expect(redis.enqueued).toEqual([1]);
  });

  it('waits retryIntervalMs between drain attempts while isRedisReady() says no, instead of polling', async () => {
    const journal = await openJournal();
    await journal.append([journalEntry(1)]); // left by a previous run
    const redis = new ScriptedEnqueue();
    const logs = captureLogs();
    let readyChecks = 0;
    const sink = sinkWith({
      journal,
      logger: logs.logger,
      retryIntervalMs: 200,
      isRedisReady: () => {
        readyChecks += 1;
        return false;
      },
      enqueue: redis.enqueue,
    });
    sink.start();
    await sink.accept([journalEntry(2)]); // journaling already: appended behind event 1, without asking Redis
    await sleep(600);
    // One attempt at start, then one per 200 ms: about 4. Retrying at once would make hundreds.
    expect(readyChecks).toBeGreaterThanOrEqual(1);
    expect(readyChecks).toBeLessThanOrEqual(10);
    expect(redis.enqueued).toEqual([]);
    expect(sink.depth()).toBe(2);
    expect(logs.lines.filter((line) => line.level === 40)).toMatchObject([
      {
        msg: 'cannot enqueue to redis; journaling events until it returns',
        err: 'redis connection is not ready',
      },
    ]);
  });

  it('rejects accept only when the journal refuses the event, with BRIDGE_ERR_JOURNAL_FULL', async () => {
    const oneLine = Buffer.byteLength(`${JSON.stringify(journalEntry(1))}\n`);
    const journal = await openJournal(oneLine * 2);
    const redis = new ScriptedEnqueue();
    redis.up = false;
    const sink = sinkWith({ journal, enqueue: redis.enqueue });
    await sink.accept([journalEntry(1)]);
    await sink.accept([journalEntry(2)]);
    const err: unknown = await sink.accept([journalEntry(3)]).catch((e: unknown) => e);
    expect(isBridgeError(err, 'BRIDGE_ERR_JOURNAL_FULL')).toBe(true);
    expect(sink.depth()).toBe(2);
  });

  it('runs one drain at a time, and stop() ends the loop with the journal intact', async () => {
    const journal = await openJournal();
    const redis = new ScriptedEnqueue();
    redis.up = false;
    const sink = sinkWith({ journal, retryIntervalMs: 5, enqueue: redis.enqueue });
    for (const n of range(1, 5)) await sink.accept([journalEntry(n)]);
    await sleep(60); // many failing retries
    redis.up = true;
    for (const n of range(6, 20)) void sink.accept([journalEntry(n)]);
    await waitUntil(() => sink.mode() === 'direct', 'the journal to drain');
    expect(redis.mostAtOnce).toBe(1);
    expect(redis.enqueued).toEqual(range(1, 20));

    redis.up = false;
    await sink.accept([journalEntry(21)]);
    await sink.stop();
    redis.up = true;
    await sleep(50);
    expect(redis.enqueued).toEqual(range(1, 20));
    expect(sink.depth()).toBe(1);
    expect(sink.mode()).toBe('journaling');
  });
});

describe('DurableSink with a real producer', () => {
  let server: RedisServer;

  beforeEach(async () => {
    server = await startRedisServer({ appendonly: true });
    cleanups.push(() => server.cleanup());
  });

  it('keeps accepting through a SIGKILLed Redis and ends with every event as exactly one job, in order', async () => {
    const prefix = freshPrefix('sink');
    const tag = randomBytes(4).toString('hex');
    const producer = await realProducer(server.url, prefix);
    const journal = await openJournal();
    const enqueueTimeoutMs = 1_000;
    const sink = sinkWith({
      journal,
      enqueue: enqueueEntryWith(producer, APP_ID),
      retryIntervalMs: 200,
      enqueueTimeoutMs,
    });

    const sent: string[] = [];
    const latencies: number[] = [];
    let deepest = 0;
    let n = 0;
    async function send(): Promise<void> {
      n += 1;
      const entry = journalEntry(n, tag);
      const startedAt = performance.now();
      await sink.accept([entry]);
      latencies.push(performance.now() - startedAt);
      sent.push(entry.frame.id!);
      deepest = Math.max(deepest, sink.depth());
      await sleep(10);
    }

    while (n < 30) await send();
    expect(sink.mode()).toBe('direct');

    await server.stop();
    const downUntil = Date.now() + 2_000;
    while (Date.now() < downUntil) await send();
    expect(sink.mode()).toBe('journaling');
    const duringOutage = latencies.slice(30).sort((a, b) => a - b);
    expect(duringOutage[Math.floor(duringOutage.length / 2)]).toBeLessThan(50);

    // Events keep coming while Redis restarts and the journal drains.
    const restarted = server.start();
    let restartDone = false;
    void restarted.then(() => (restartDone = true));
    while (!restartDone) await send();
    await restarted;
    for (let i = 0; i < 30; i += 1) await send();
    await waitUntil(() => sink.mode() === 'direct', 'the journal to drain into the restarted redis');

    expect(deepest).toBeGreaterThan(10);
    expect(Math.max(...latencies)).toBeLessThan(enqueueTimeoutMs + 500);
    expect(sink.depth()).toBe(0);
    expect(journal.bytes).toBe(0);
    expect(await queuedEventIds(server.url, prefix)).toEqual(sent);
  });

  it('drains a backlog in batches while events keep arriving, and gets back to direct before they stop', async () => {
    const prefix = freshPrefix('sink');
    cleanups.push(() => deletePrefix(prefix));
    const tag = randomBytes(4).toString('hex');
    const backlog = 2_000;
    const journal = await openJournal(64 * 1024 * 1024);
    await journal.append(range(1, backlog).map((n) => journalEntry(n, tag))); // left by a previous run
    const producer = await realProducer(REDIS_URL, prefix);
    const enqueue = enqueueEntryWith(producer, APP_ID);
    let enqueueCalls = 0;
    const sink = sinkWith({
      journal,
      enqueue: (entries) => {
        enqueueCalls += 1;
        return enqueue(entries);
      },
    });
    sink.start();

    // 10 events every 5 ms (2,000/s nominal; one enqueue per journaled event managed about 2,250/s on an idle
    // machine and far less on a busy one) until the sink has been direct for 10 accepts in a row — at most
    // 20,000 events or 20 s.
    const perTick = 10;
    const tickMs = 5;
    const modes: SinkMode[] = [];
    let directStreak = 0;
    const startedAt = Date.now();
    let n = backlog;
    for (let tick = 1; directStreak < 10 && n < 20_000 && Date.now() - startedAt < 20_000; tick += 1) {
      const entries = range(n + 1, n + perTick).map((k) => journalEntry(k, tag));
      n += perTick;
      await sink.accept(entries);
      const mode = sink.mode();
      modes.push(mode);
      directStreak = mode === 'direct' ? directStreak + 1 : 0;
      await sleep(Math.max(0, startedAt + tick * tickMs - Date.now()));
    }

    // Back to direct while events were still arriving, and it stayed there.
    expect(directStreak).toBe(10);
    expect(modes.slice(modes.indexOf('direct'))).not.toContain('journaling');
    // At most one enqueue per accept, plus one per batch of what was journaled: not one per journaled event.
    expect(enqueueCalls).toBeLessThanOrEqual(modes.length + Math.ceil(n / DRAIN_BATCH_ENTRIES) + 5);
    expect(await queuedEventIds(REDIS_URL, prefix)).toEqual(
      range(1, n).map((k) => journalEntry(k, tag).frame.id!),
    );
    expect(journal.bytes).toBe(0);
  }, 60_000);

  it('drains at start() what a process killed during an outage left, ahead of new events', async () => {
    const prefix = freshPrefix('sink');
    cleanups.push(() => deletePrefix(prefix));
    const tag = randomBytes(4).toString('hex');
    // The dead process: its journal holds events 1–5 and it never closed anything.
    const dead = await openJournal();
    await dead.append(range(1, 5).map((n) => journalEntry(n, tag)));
    // Its exit released the directory's lock; closing writes nothing (the appends are on disk).
    await dead.close();

    const producer = await realProducer(REDIS_URL, prefix);
    const journal = await openJournal();
    const sink = sinkWith({ journal, enqueue: enqueueEntryWith(producer, APP_ID) });
    expect(sink.mode()).toBe('journaling');
    expect(sink.depth()).toBe(5);
    await sink.accept([journalEntry(6, tag)]); // before start: queued behind the old events
    sink.start();
    await sink.accept([journalEntry(7, tag)]);
    await waitUntil(() => sink.mode() === 'direct', 'the old journal to drain');
    await sink.accept([journalEntry(8, tag)]);

    const expected = range(1, 8).map((n) => journalEntry(n, tag).frame.id!);
    expect(await queuedEventIds(REDIS_URL, prefix)).toEqual(expected);
    expect(journal.entries).toBe(0);
  });
});
