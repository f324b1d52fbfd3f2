/**
 * `node --import tsx bench/dead-letter-memory.ts [--events N]`: measures what one delivery job costs Redis, queued
 * and as a dead letter, with `MEMORY USAGE` (SAMPLES 0: every element counted) on the keys of real jobs. The events are the benchmark's group
 * @-message (about 600 bytes of envelope), enqueued by the bridge's own producer, and failed by the bridge's own
 * delivery workers against a loopback receiver; the figures size `delivery.dead_letter.max_count` (README, Sizing).
 * Uses Redis at $REDIS_URL (default redis://127.0.0.1:6379) under a prefix of its own, deleted at the end.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import type { Redis } from 'ioredis';
import { connectSingleRedis } from '../src/redis/connections.js';
import { parseConfig, type BridgeConfig } from '../src/config/index.js';
import { startDeliveryWorkers } from '../src/delivery/worker.js';
import { normalize } from '../src/events/normalize.js';
import { silentLogger } from '../src/log.js';
import { deliveryQueue } from '../src/queue/delivery-queue.js';
import { targetQueuePrefix } from '../src/redis/keys.js';
import { deliveryQueueName } from '../src/queue/names.js';
import { DeliveryProducer } from '../src/queue/producer.js';
import { BENCH_EVENT_TYPE, benchEventData } from './payload.js';
import { deletePrefix, runPrefix } from './redis.js';

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const TARGET = 'mem';
/** BullMQ's default `streams.events.maxLen`. */
const STREAM_MAX_LEN = 10_000;

/** The keys of one queue, by what they hold. */
type KeyKind = 'job hash' | 'attempt log' | 'dedupe key' | 'events stream' | 'state sets' | 'other';

function kindOf(rest: string): KeyKind {
  if (rest.startsWith('de:')) return 'dedupe key';
  if (rest.startsWith('ev|')) return rest.endsWith(':logs') ? 'attempt log' : 'job hash';
  if (rest === 'events') return 'events stream';
  if (['wait', 'failed', 'completed', 'delayed', 'active', 'prioritized', 'paused'].includes(rest)) {
    return 'state sets';
  }
  return 'other';
}

/** Bytes per kind of key under the queue, by MEMORY USAGE with SAMPLES 0 (every element counted). */
async function measure(redis: Redis, prefix: string): Promise<Map<KeyKind, { keys: number; bytes: number }>> {
  const queuePrefix = `${targetQueuePrefix(prefix, TARGET)}:${deliveryQueueName(TARGET)}:`;
  const sizes = new Map<KeyKind, { keys: number; bytes: number }>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${queuePrefix}*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const bytes = Number(await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
      const kind = kindOf(key.slice(queuePrefix.length));
      const entry = sizes.get(kind) ?? { keys: 0, bytes: 0 };
      sizes.set(kind, { keys: entry.keys + 1, bytes: entry.bytes + bytes });
    }
  } while (cursor !== '0');
  return sizes;
}

/** A receiver that answers every delivery with `status` and `body`. */
async function receiver(status: number, body: string): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.statusCode = status;
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, server };
}

function config(prefix: string, url: string, attempts: number): BridgeConfig {
  return parseConfig(
    [
      'qq: { app_id: "102000000", client_secret: bench }',
      `redis: { url: "${REDIS_URL}", prefix: "${prefix}" }`,
      'targets:',
      `  - id: ${TARGET}`,
      `    url: ${url}`,
      '    secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      '    allow_private: true',
      `    retry: { attempts: ${attempts}, base: 1ms, max: 1ms }`,
    ].join('\n'),
    '<dead-letter-memory>',
    {},
  );
}

interface Scenario {
  readonly name: string;
  /** How the receiver answers and the attempts a job gets; absent, no worker runs and the jobs stay waiting. */
  readonly deliver?: { readonly status: number; readonly body: string; readonly attempts: number };
  /** Where the jobs end up: dead letters (failed, the default) or delivered (completed). */
  readonly until?: 'failed' | 'completed';
}

async function run(scenario: Scenario, events: number, redis: Redis): Promise<void> {
  const prefix = runPrefix();
  const answer = scenario.deliver ?? { status: 200, body: '', attempts: 1 };
  const target = await receiver(answer.status, answer.body);
  const cfg = config(prefix, target.url, answer.attempts);
  const producer = new DeliveryProducer({
    connection: redis,
    prefix,
    targets: cfg.targets,
    dedupeWindowMs: cfg.delivery.dedupeWindowMs,
  });
  const queue = deliveryQueue(TARGET, prefix, redis);
  try {
    const receivedAt = new Date();
    for (let i = 1; i <= events; i += 1) {
      const frame = {
        op: 0 as const,
        t: BENCH_EVENT_TYPE,
        s: i,
        id: `${BENCH_EVENT_TYPE}:mem-${i}`,
        d: benchEventData(i, Date.now()),
      };
      await producer.enqueue(normalize(frame, { appId: '102000000', shard: [0, 1], receivedAt }));
    }
    if (scenario.deliver) {
      const state = scenario.until ?? 'failed';
      const workers = startDeliveryWorkers({
        config: cfg,
        redis: { url: REDIS_URL },
        logger: silentLogger(),
      });
      while (((await queue.getJobCounts(state))[state] ?? 0) < events) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await workers.close(1000);
    }
    const sizes = await measure(redis, prefix);
    const perJob = (kinds: KeyKind[]): number =>
      kinds.reduce((sum, kind) => sum + (sizes.get(kind)?.bytes ?? 0), 0) / events;
    const stream = sizes.get('events stream');
    const counts = await queue.getJobCounts('wait', 'failed', 'completed');
    console.log(
      `\n${scenario.name} (${events} jobs; waiting ${counts['wait']}, failed ${counts['failed']}, ` +
        `completed ${counts['completed']})`,
    );
    for (const kind of ['job hash', 'attempt log', 'dedupe key', 'state sets'] as const) {
      const entry = sizes.get(kind);
      if (entry)
        console.log(`  ${kind.padEnd(14)} ${String(Math.round(entry.bytes / events)).padStart(6)} B per job`);
    }
    const total = perJob(['job hash', 'attempt log', 'dedupe key', 'state sets']);
    console.log(
      `  ${'total'.padEnd(14)} ${String(Math.round(total)).padStart(6)} B per job (sum of MEMORY USAGE)`,
    );
    if (stream) {
      const entries = await redis.xlen(
        `${targetQueuePrefix(prefix, TARGET)}:${deliveryQueueName(TARGET)}:events`,
      );
      const perEntry = stream.bytes / entries;
      console.log(
        `  events stream  ${entries} entries, ${Math.round(perEntry)} B each; BullMQ trims it to about ` +
          `${STREAM_MAX_LEN} entries per queue: at most ~${((perEntry * STREAM_MAX_LEN) / 1e6).toFixed(1)} MB, a fixed cost`,
      );
    }
  } finally {
    await producer.close();
    await queue.close();
    await new Promise((resolve) => target.server.close(resolve));
    await deletePrefix(redis, prefix);
  }
}

const { values } = parseArgs({ options: { events: { type: 'string', default: '500' } } });
const events = Number(values.events);
if (!Number.isInteger(events) || events < 1 || events > 100_000) {
  console.error('--events expects a whole number from 1 to 100000');
  process.exit(2);
}

const redis = connectSingleRedis(REDIS_URL, 'worker');
try {
  const server = await redis.info('server');
  console.log(
    `Redis ${/redis_version:(\S+)/.exec(server)?.[1] ?? '?'} at ${REDIS_URL.replace(/\/\/[^@]*@/, '//')}`,
  );
  await run({ name: 'queued delivery (waiting)' }, events, redis);
  await run(
    {
      name: 'delivered (completed; kept an hour, at most 1000 per target)',
      deliver: { status: 200, body: 'ok', attempts: 1 },
      until: 'completed',
    },
    events,
    redis,
  );
  await run(
    {
      name: 'dead letter, refused at the first attempt (HTTP 400, 30-byte body)',
      deliver: { status: 400, body: '{"error":"unknown event type"}', attempts: 1 },
    },
    events,
    redis,
  );
  await run(
    {
      name: 'dead letter after 15 attempts (HTTP 503, 2 KiB body; each attempt keeps 1 KiB of it)',
      deliver: { status: 503, body: `<html>${'x'.repeat(2048)}</html>`, attempts: 15 },
    },
    events,
    redis,
  );
} finally {
  redis.disconnect();
}
