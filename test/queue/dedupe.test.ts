/**
 * The producer's dedupe key (BullMQ throttle-mode deduplication), apart from BullMQ's job-id uniqueness: QQ pushes
 * one group message as GROUP_AT_MESSAGE_CREATE and GROUP_MESSAGE_CREATE under two frame ids, so the two copies
 * are two job ids with one dedupe key (`msg:<d.id>`), and only the key keeps the second from being delivered.
 * Real Redis, the real producer and worker, a loopback receiver.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startDeliveryWorkers } from '../../src/delivery/worker.js';
import type { DispatchFrame } from '../../src/events/envelope.js';
import { normalize, type NormalizedEvent } from '../../src/events/normalize.js';
import { silentLogger } from '../../src/log.js';
import { deliveryQueue, type DeliveryQueue } from '../../src/queue/delivery-queue.js';
import { jobIdForEvent } from '../../src/queue/names.js';
import { DeliveryProducer } from '../../src/queue/producer.js';
import {
  deletePrefix,
  makeConfig,
  makeTarget,
  redisConnection,
  startReceiver,
  uniquePrefix,
  waitFor,
  type Receiver,
} from '../delivery/fixtures.js';
import { GROUP_AT_MESSAGE, GROUP_MESSAGE } from '../events/fixtures.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

const normalized = (frame: DispatchFrame): NormalizedEvent =>
  normalize(frame, { appId: '102000000', shard: [0, 1], receivedAt: new Date() });

/** Producer, worker, queue handle and receiver for one target, closed (and the prefix deleted) after the test. */
async function pipeline(dedupeWindowMs: number): Promise<{
  producer: DeliveryProducer;
  queue: DeliveryQueue;
  receiver: Receiver;
}> {
  const receiver = await startReceiver();
  cleanups.push(() => receiver.close());
  const prefix = uniquePrefix();
  cleanups.push(() => deletePrefix(prefix));
  const target = makeTarget({ id: 'dedupe', url: receiver.url });
  const connection = redisConnection();
  cleanups.push(() => connection.quit());
  const producer = new DeliveryProducer({ connection, prefix, targets: [target], dedupeWindowMs });
  cleanups.push(() => producer.close());
  const workers = startDeliveryWorkers({ config: makeConfig(prefix, [target]), logger: silentLogger() });
  cleanups.push(() => workers.close(1_000));
  const queue = deliveryQueue('dedupe', prefix, connection);
  cleanups.push(() => queue.close());
  return { producer, queue, receiver };
}

async function completed(queue: DeliveryQueue, event: NormalizedEvent): Promise<void> {
  await waitFor(async () => (await queue.getJobState(jobIdForEvent(event.envelope.id))) === 'completed');
}

const deliveredIds = (receiver: Receiver): unknown[] => receiver.requests.map((r) => r.headers['webhook-id']);

describe('dedupe key', () => {
  const at = normalized(GROUP_AT_MESSAGE);
  const full = normalized(GROUP_MESSAGE);

  it('is shared by the two copies of one message, whose event and job ids differ', () => {
    expect(at.dedupeKey).toBe(full.dedupeKey);
    expect(jobIdForEvent(at.envelope.id)).not.toBe(jobIdForEvent(full.envelope.id));
  });

  it('delivers one message pushed as both GROUP_AT_MESSAGE_CREATE and GROUP_MESSAGE_CREATE once', async () => {
    const { producer, queue, receiver } = await pipeline(60_000);
    expect(await producer.enqueueMany([{ event: at }, { event: full }])).toEqual([['dedupe'], ['dedupe']]);

    await completed(queue, at);
    expect(await queue.getJob(jobIdForEvent(full.envelope.id))).toBeUndefined();
    expect(deliveredIds(receiver)).toEqual([at.envelope.id]);
  });

  it('still drops the second copy after the first was delivered, for the whole window', async () => {
    const { producer, queue, receiver } = await pipeline(60_000);
    await producer.enqueue(at);
    await completed(queue, at);

    await producer.enqueue(full);
    expect(await queue.getJob(jobIdForEvent(full.envelope.id))).toBeUndefined();
    expect(await queue.getDeduplicationJobId(at.dedupeKey)).toBe(jobIdForEvent(at.envelope.id));
    expect(deliveredIds(receiver)).toEqual([at.envelope.id]);
  });

  it('lets the same event in again once a short window expired and its job is removed', async () => {
    const { producer, queue, receiver } = await pipeline(300);
    const keyExpired = (): Promise<void> =>
      waitFor(async () => (await queue.getDeduplicationJobId(at.dedupeKey)) === null);
    await producer.enqueue(at);
    await completed(queue, at);
    await keyExpired();

    // Its finished job is kept (for the dashboard), and BullMQ never adds a job id twice.
    const atJobId = jobIdForEvent(at.envelope.id);
    const finishedOn = (await queue.getJob(atJobId))?.finishedOn;
    await producer.enqueue(at);
    expect((await queue.getJob(atJobId))?.finishedOn).toBe(finishedOn);

    await queue.remove(atJobId);
    await producer.enqueue(at);
    await completed(queue, at);
    expect(deliveredIds(receiver)).toEqual([at.envelope.id, at.envelope.id]);

    // The other copy has a job id of its own: once the key expired, nothing holds it back.
    await keyExpired();
    await producer.enqueue(full);
    await completed(queue, full);
    expect(deliveredIds(receiver)).toEqual([at.envelope.id, at.envelope.id, full.envelope.id]);
  });
});
