import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TargetConfig } from '../../src/config/types.js';
import { startDeliveryWorkers, type DeliveryWorkers } from '../../src/delivery/worker.js';
import { silentLogger } from '../../src/log.js';
import { openDeliveryQueue, type DeliveryQueue } from '../../src/queue/dlq.js';
import { parseSince, replaySince } from '../../src/queue/replay-since.js';
import { parseDurationMs } from '../../src/util/duration.js';
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
    ['2026-11-25T12:00:00Z', Date.parse('2026-11-25T12:00:00Z')],
  ])('reads --since %s', (text, expected) => {
    expect(parseSince(text, 1_000_000_000_000, parseDurationMs)).toBe(expected);
  });

  it('refuses what is neither a duration nor a time', () => {
    expect(parseSince('yesterday-ish', Date.now(), parseDurationMs)).toBeUndefined();
  });
});
