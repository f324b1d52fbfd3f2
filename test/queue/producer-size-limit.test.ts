import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { BridgeConfig, TargetConfig } from '../../src/config/types.js';
import { startDeliveryWorkers, type DeliveryWorkers } from '../../src/delivery/worker.js';
import { normalize } from '../../src/events/normalize.js';
import { silentLogger } from '../../src/log.js';
import { listDeadLetters, openDeliveryQueue, showDeadLetter } from '../../src/queue/dlq.js';
import { jobIdForEvent } from '../../src/queue/names.js';
import { DeliveryProducer, MAX_ENVELOPE_BYTES } from '../../src/queue/producer.js';
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

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** A C2C message whose content makes the envelope about `contentBytes` long. */
function bigEvent(contentBytes: number, id: string): ReturnType<typeof normalize> {
  const frame = {
    op: 0 as const,
    s: 7,
    t: 'C2C_MESSAGE_CREATE',
    id: `C2C_MESSAGE_CREATE:${id}`,
    d: {
      id: `ROBOT1.0_${id}`,
      content: 'x'.repeat(contentBytes),
      timestamp: '2025-02-15T16:35:23+08:00',
      author: { user_openid: 'U1' },
    },
  };
  return normalize(frame, { appId: '102000000', shard: [0, 1], receivedAt: new Date() });
}

/** A producer for `targets` on a fresh prefix, with everything it opens cleaned up after the test. */
function producerFor(targets: TargetConfig[]): {
  config: BridgeConfig;
  connection: Redis;
  producer: DeliveryProducer;
} {
  const prefix = uniquePrefix();
  cleanups.push(() => deletePrefix(prefix));
  const config = makeConfig(prefix, targets);
  const connection = redisConnection();
  cleanups.push(() => connection.quit());
  const producer = new DeliveryProducer({ connection, prefix, targets, dedupeWindowMs: 60_000 });
  cleanups.push(() => producer.close());
  return { config, connection, producer };
}

describe('envelope size limit', () => {
  it('dead-letters an envelope over 1 MiB for its target, never sending it, and still delivers smaller bodies', async () => {
    const receivers: Receiver[] = [await startReceiver(), await startReceiver()];
    for (const r of receivers) cleanups.push(() => r.close());
    const [plainReceiver, rawReceiver] = receivers as [Receiver, Receiver];
    // ~600 KB: under the limit as a plain envelope, over it once include_raw repeats the frame.
    const plain = makeTarget({ id: 'plain', url: plainReceiver.url });
    const withRaw = makeTarget({ id: 'with-raw', url: rawReceiver.url, includeRaw: true });
    const { config, connection, producer } = producerFor([plain, withRaw]);
    const event = bigEvent(600 * 1024, 'big');
    const frame = { op: 0, s: 7, t: 'C2C_MESSAGE_CREATE', d: { content: 'x'.repeat(600 * 1024) } };
    expect(await producer.enqueue(event, frame)).toEqual(['plain', 'with-raw']);

    const workers: DeliveryWorkers = startDeliveryWorkers({ config, logger: silentLogger() });
    cleanups.push(() => workers.close(1_000));
    const eventId = event.envelope.id;
    const jobId = jobIdForEvent(eventId);
    const rawQueue = openDeliveryQueue(config, 'with-raw', connection);
    cleanups.push(() => rawQueue.close());
    await waitFor(async () => (await rawQueue.getJobState(jobId)) === 'failed');
    await waitFor(() => plainReceiver.requests.length === 1);

    expect(rawReceiver.requests).toHaveLength(0);
    expect(JSON.parse(plainReceiver.requests[0]!.body)).toMatchObject({ id: eventId });
    const job = await rawQueue.getJob(jobId);
    // Redis never holds the oversize body: the job keeps a summary.
    expect(Buffer.byteLength(job!.data.body)).toBeLessThan(1024);
    expect(job?.attemptsMade).toBe(1);
    const reason = new RegExp(
      `^envelope is \\d+ bytes, over the ${MAX_ENVELOPE_BYTES}-byte limit \\(with include_raw\\); not sent$`,
    );
    expect(job?.failedReason).toMatch(reason);

    const [row] = await listDeadLetters(rawQueue);
    expect(row).toMatchObject({ eventId, type: 'c2c.message.created' });
    expect(row?.lastError).toMatch(reason);
    const detail = await showDeadLetter(rawQueue, eventId);
    expect(detail?.envelope).toMatchObject({
      id: eventId,
      type: 'c2c.message.created',
      qq_type: 'C2C_MESSAGE_CREATE',
      seq: 7,
      oversize: { bytes: expect.any(Number) as unknown, limit: MAX_ENVELOPE_BYTES },
    });
    expect(detail?.envelope).not.toHaveProperty('data');
  });

  it('keeps an envelope at exactly the limit deliverable', async () => {
    const { config, connection, producer } = producerFor([
      makeTarget({ id: 'edge', url: 'http://127.0.0.1:9/hook' }),
    ]);

    const probe = JSON.stringify(bigEvent(0, 'edge').envelope).length;
    const atLimit = bigEvent(MAX_ENVELOPE_BYTES - probe, 'edge');
    expect(Buffer.byteLength(JSON.stringify(atLimit.envelope))).toBe(MAX_ENVELOPE_BYTES);
    await producer.enqueue(atLimit);
    const queue = openDeliveryQueue(config, 'edge', connection);
    cleanups.push(() => queue.close());
    const job = await queue.getJob(jobIdForEvent(atLimit.envelope.id));
    expect(job?.data.undeliverable).toBeUndefined();
    expect(Buffer.byteLength(job!.data.body)).toBe(MAX_ENVELOPE_BYTES);

    const over = bigEvent(MAX_ENVELOPE_BYTES - probe + 1, 'over');
    await producer.enqueue(over);
    const overJob = await queue.getJob(jobIdForEvent(over.envelope.id));
    expect(overJob?.data.undeliverable).toMatch(
      /^envelope is 1048577 bytes, over the 1048576-byte limit; not sent$/,
    );
  });
});
