import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TargetConfig } from '../../src/config/types.js';
import { startDeliveryWorkers, type DeliveryWorkers } from '../../src/delivery/worker.js';
import { silentLogger } from '../../src/log.js';
import { openDeliveryQueue, type DeliveryQueue } from '../../src/queue/dlq.js';
import { parseSince, replaySince } from '../../src/queue/replay-since.js';
import {
  addDelivery,
  deletePrefix,
  makeConfig,
  makeTarget,
  redisConnection,
  startReceiver,
  uniquePrefix,
  waitFor,
  type Receiver,
} from '../delivery/fixtures.js';

let prefix: string;
let admin: Redis;
let receiver: Receiver;
let target: TargetConfig;
let queue: DeliveryQueue;
let workers: DeliveryWorkers;
const seen: string[] = [];

beforeEach(async () => {
  prefix = uniquePrefix();
  admin = redisConnection();
  seen.length = 0;
  receiver = await startReceiver((req, res) => {
    const id = String(req.headers['webhook-id']);
    seen.push(id);
    // one event is refused, so it ends in the dead-letter queue
    res.statusCode = id.endsWith(':refused') ? 400 : 200;
    res.end();
  });
  target = makeTarget({ id: 'backend', url: receiver.url, retry: { attempts: 2, baseMs: 20, maxMs: 50 } });
  const config = makeConfig(prefix, [target]);
  queue = openDeliveryQueue(config, 'backend', admin);
  workers = startDeliveryWorkers({ config, logger: silentLogger() });
});

afterEach(async () => {
  await workers.close(1000);
  await queue.close();
  await receiver.close();
  await deletePrefix(prefix);
  await admin.quit();
});

describe('replay --since', () => {
  it('sends again, with the same webhook-id, what finished since the time, delivered or dead-lettered', async () => {
    await addDelivery(queue, target, 'GROUP_ADD_ROBOT:old', 'group.bot.added');
    await waitFor(async () => (await queue.getCompletedCount()) === 1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const since = Date.now();
    await addDelivery(queue, target, 'GROUP_ADD_ROBOT:new', 'group.bot.added');
    await addDelivery(queue, target, 'GROUP_ADD_ROBOT:refused', 'group.bot.added');
    await waitFor(
      async () => (await queue.getCompletedCount()) === 2 && (await queue.getFailedCount()) === 1,
    );
    seen.length = 0;

    expect(await replaySince(queue, since)).toBe(2);
    await waitFor(() => Promise.resolve(seen.length >= 2));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect([...new Set(seen)].sort()).toEqual(['GROUP_ADD_ROBOT:new', 'GROUP_ADD_ROBOT:refused']);
  });

  it.each([
    ['2h', 1_000_000_000_000 - 7_200_000],
    ['30m', 1_000_000_000_000 - 1_800_000],
    ['7d', 1_000_000_000_000 - 604_800_000],
    ['2026-11-25T12:00:00Z', Date.parse('2026-11-25T12:00:00Z')],
    ['2026-11-25', Date.parse('2026-11-25')],
  ])('reads --since %s', (text, expected) => {
    expect(parseSince(text, 1_000_000_000_000)).toEqual({ sinceMs: expected });
  });

  it.each([
    // Date.parse('7') is a day in 2001: a bare number must not replay everything since then
    ['7', 'has no unit; write it with one of ms, s, m, h, d, e.g. 7h'],
    ['-2h', 'is negative; a duration is zero or more, like 1h'],
    ['2026-13-45T00:00:00Z', 'is not a valid ISO 8601 time; write one like 2026-11-25T12:00:00Z'],
    [
      'yesterday-ish',
      'is neither a duration like 30m, 2h or 7d nor an ISO 8601 time like 2026-11-25T12:00:00Z',
    ],
  ])('refuses %j, saying why', (text, problem) => {
    expect(parseSince(text, Date.now())).toEqual({ problem });
  });
});
