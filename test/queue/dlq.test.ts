import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BridgeConfig, TargetConfig } from '../../src/config/types.js';
import { startDeliveryWorkers, type DeliveryWorkers } from '../../src/delivery/worker.js';
import { isBridgeError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import {
  listDeadLetters,
  openDeliveryQueue,
  purgeDeadLetters,
  replayDeadLetters,
  showDeadLetter,
  type DeliveryQueue,
} from '../../src/queue/dlq.js';
import { jobIdForEvent } from '../../src/queue/names.js';
import {
  addDelivery,
  deletePrefix,
  envelopeBody,
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
let status: number;
let target: TargetConfig;
let config: BridgeConfig;
let queue: DeliveryQueue;
let workers: DeliveryWorkers;

beforeEach(async () => {
  prefix = uniquePrefix();
  admin = redisConnection();
  status = 400;
  receiver = await startReceiver((_req, res) => {
    res.statusCode = status;
    res.end(status === 400 ? 'no thanks' : 'ok');
  });
  target = makeTarget({ id: 'backend', url: receiver.url, retry: { attempts: 3, baseMs: 20, maxMs: 100 } });
  config = makeConfig(prefix, [target, makeTarget({ id: 'other', url: receiver.url })]);
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

async function deadLetter(...eventIds: string[]): Promise<void> {
  for (const id of eventIds) await addDelivery(queue, target, id, 'group.bot.added');
  await waitFor(async () => (await queue.getFailedCount()) === eventIds.length);
}

async function stateOf(eventId: string): Promise<string> {
  return queue.getJobState(jobIdForEvent(eventId));
}

describe('dead-letter queue', () => {
  it('lists, shows, replays (same webhook-id, fresh attempts) and purges', async () => {
    await deadLetter('GROUP_ADD_ROBOT:a', 'GROUP_ADD_ROBOT:b', 'GROUP_ADD_ROBOT:c');

    const rows = await listDeadLetters(queue);
    expect(rows.map((row) => row.eventId).sort()).toEqual([
      'GROUP_ADD_ROBOT:a',
      'GROUP_ADD_ROBOT:b',
      'GROUP_ADD_ROBOT:c',
    ]);
    for (const row of rows) {
      expect(row).toMatchObject({
        type: 'group.bot.added',
        attempts: 1,
        lastStatus: 400,
        lastError: 'HTTP 400',
      });
      expect(Date.parse(row.failedAt)).toBeGreaterThan(Date.now() - 60_000);
    }
    expect(await listDeadLetters(queue, { limit: 2 })).toHaveLength(2);

    const detail = await showDeadLetter(queue, 'GROUP_ADD_ROBOT:a');
    expect(detail).toMatchObject({
      eventId: 'GROUP_ADD_ROBOT:a',
      type: 'group.bot.added',
      envelope: JSON.parse(envelopeBody('GROUP_ADD_ROBOT:a')),
      failedReason: 'HTTP 400',
      attempts: [{ attempt: 1, status: 400, outcome: 'rejected', errorCode: 'HTTP_400', body: 'no thanks' }],
    });
    expect(await showDeadLetter(queue, 'GROUP_ADD_ROBOT:nope')).toBeUndefined();

    // The target is fixed; replay one event.
    status = 200;
    expect(await replayDeadLetters(queue, { eventId: 'GROUP_ADD_ROBOT:a' })).toBe(1);
    await waitFor(async () => (await stateOf('GROUP_ADD_ROBOT:a')) === 'completed');
    const forA = receiver.requests.filter((req) => req.headers['webhook-id'] === 'GROUP_ADD_ROBOT:a');
    expect(forA.map((req) => req.headers['x-qqwb-attempt'])).toEqual(['1', '1']);
    expect(await replayDeadLetters(queue, { eventId: 'GROUP_ADD_ROBOT:a' })).toBe(0);

    // Replay everything left, with progress.
    const progress: Array<[number, number]> = [];
    expect(await replayDeadLetters(queue, { all: true }, (done, total) => progress.push([done, total]))).toBe(
      2,
    );
    expect(progress).toEqual([
      [1, 2],
      [2, 2],
    ]);
    await waitFor(async () => (await queue.getJobCounts('completed')).completed === 3);
    expect(await listDeadLetters(queue)).toEqual([]);

    // New failures, then purge them in every way.
    status = 400;
    await deadLetter('GROUP_ADD_ROBOT:d', 'GROUP_ADD_ROBOT:e', 'GROUP_ADD_ROBOT:f');
    expect(await purgeDeadLetters(queue, { eventId: 'GROUP_ADD_ROBOT:d' })).toBe(1);
    expect(await purgeDeadLetters(queue, { eventId: 'GROUP_ADD_ROBOT:d' })).toBe(0);
    expect(await purgeDeadLetters(queue, { failedUpToMs: Date.now() - 3_600_000 })).toBe(0);
    expect(await purgeDeadLetters(queue, { all: true })).toBe(2);
    expect(await listDeadLetters(queue)).toEqual([]);
    expect(await queue.getJobLogs(jobIdForEvent('GROUP_ADD_ROBOT:e'))).toEqual({ logs: [], count: 0 });
    // Completed deliveries are not dead letters and are left alone.
    expect(await stateOf('GROUP_ADD_ROBOT:a')).toBe('completed');
  });

  it('shows every attempt of an exhausted delivery and replay restarts the attempt budget', async () => {
    status = 503;
    await deadLetter('GROUP_ADD_ROBOT:x');
    const [row] = await listDeadLetters(queue);
    expect(row).toMatchObject({ attempts: 3, lastStatus: 503, lastError: 'HTTP 503' });
    const detail = await showDeadLetter(queue, 'GROUP_ADD_ROBOT:x');
    expect(detail?.attempts.map((a) => [a.attempt, a.outcome])).toEqual([
      [1, 'retry'],
      [2, 'retry'],
      [3, 'retry'],
    ]);

    expect(await replayDeadLetters(queue, { all: true })).toBe(1);
    await waitFor(async () => (await queue.getFailedCount()) === 1 && receiver.requests.length === 6);
    expect(receiver.requests.map((req) => req.headers['x-qqwb-attempt'])).toEqual([
      '1',
      '2',
      '3',
      '1',
      '2',
      '3',
    ]);
    expect((await showDeadLetter(queue, 'GROUP_ADD_ROBOT:x'))?.attempts).toHaveLength(6);
  });

  it('replay bypasses the enqueue dedupe that swallows a re-enqueued event', async () => {
    await deadLetter('GROUP_ADD_ROBOT:dup');
    status = 200;
    await addDelivery(queue, target, 'GROUP_ADD_ROBOT:dup');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(receiver.requests).toHaveLength(1);
    expect(await stateOf('GROUP_ADD_ROBOT:dup')).toBe('failed');

    expect(await replayDeadLetters(queue, { eventId: 'GROUP_ADD_ROBOT:dup' })).toBe(1);
    await waitFor(async () => (await stateOf('GROUP_ADD_ROBOT:dup')) === 'completed');
    expect(receiver.requests.map((req) => req.headers['webhook-id'])).toEqual([
      'GROUP_ADD_ROBOT:dup',
      'GROUP_ADD_ROBOT:dup',
    ]);
  });

  it('replay and purge never touch jobs that are not dead-lettered', async () => {
    status = 200;
    await addDelivery(queue, target, 'GROUP_ADD_ROBOT:ok');
    await waitFor(async () => (await stateOf('GROUP_ADD_ROBOT:ok')) === 'completed');
    expect(await replayDeadLetters(queue, { eventId: 'GROUP_ADD_ROBOT:ok' })).toBe(0);
    expect(await purgeDeadLetters(queue, { eventId: 'GROUP_ADD_ROBOT:ok' })).toBe(0);
    expect(await showDeadLetter(queue, 'GROUP_ADD_ROBOT:ok')).toBeUndefined();
    expect(await stateOf('GROUP_ADD_ROBOT:ok')).toBe('completed');
  });

  it('openDeliveryQueue refuses an unknown target and names the configured ones', () => {
    let caught: unknown;
    try {
      openDeliveryQueue(config, 'bakend', admin);
    } catch (err) {
      caught = err;
    }
    expect(isBridgeError(caught, 'BRIDGE_ERR_NOT_FOUND')).toBe(true);
    expect((caught as Error).message).toBe('unknown target "bakend"; configured targets: backend, other');
  });
});
