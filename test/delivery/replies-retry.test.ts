/**
 * A delivery whose replies cannot all be stored because Redis fails meanwhile is retried, and the receiver's
 * second answer (to the same webhook-id) stores nothing twice: each reply and each report is keyed by a dedupe id
 * made from the event, the target and its place in the answer.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startDeliveryWorkers, type DeliveryWorkers } from '../../src/delivery/worker.js';
import { normalize } from '../../src/events/normalize.js';
import { silentLogger } from '../../src/log.js';
import type { OutboundJobData, OutboundMessageJob } from '../../src/outbound/message.js';
import { OutboundQueue, outboundQueueName } from '../../src/outbound/send-queue.js';
import { deliveryQueue } from '../../src/queue/delivery-queue.js';
import { jobIdForEvent } from '../../src/queue/names.js';
import { DeliveryProducer } from '../../src/queue/producer.js';
import { REDIS_URL } from '../helpers/redis.js';
import { CTX, GROUP_AT_MESSAGE } from '../events/fixtures.js';
import {
  deletePrefix,
  makeConfig,
  makeTarget,
  redisConnection,
  startReceiver,
  uniquePrefix,
  waitFor,
  type Receiver,
} from './fixtures.js';
import { outboundQueuePrefix } from '../../src/redis/keys.js';

let prefix: string;
let admin: Redis;
const cleanups: (() => Promise<unknown>)[] = [];

beforeEach(() => {
  prefix = uniquePrefix();
  admin = redisConnection();
});

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
  await deletePrefix(prefix);
  await admin.quit();
});

async function receiver(...args: Parameters<typeof startReceiver>): Promise<Receiver> {
  const r = await startReceiver(...args);
  cleanups.push(() => r.close());
  return r;
}

describe('replies when Redis fails while they are stored', () => {
  it('retries the delivery, and the second answer stores and reports nothing twice', async () => {
    const answer = JSON.stringify({ replies: [{ content: 'a' }, { content: 'b' }, 'not a message'] });
    const backend = await receiver((_req, res) => res.end(answer));
    const results = await receiver((_req, res) => res.end());
    const targets = [
      makeTarget({ id: 'backend', url: backend.url, retry: { attempts: 10, baseMs: 100, maxMs: 1000 } }),
      makeTarget({ id: 'results', url: results.url, events: ['bridge.*'] }),
    ];
    const config = makeConfig(prefix, targets);
    const outbound = new OutboundQueue({ connection: admin, prefix, appId: config.qq.appId, attempts: 3 });
    cleanups.push(() => outbound.close());
    // The reports go out on a connection of their own, which goes down before the delivery and comes back later.
    const flaky = new Redis(REDIS_URL, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    cleanups.push(() => Promise.resolve(flaky.disconnect()));
    await new Promise((resolve) => flaky.once('ready', resolve));
    const reports = new DeliveryProducer({ connection: flaky, prefix, targets, dedupeWindowMs: 60_000 });
    cleanups.push(() => reports.close().catch(() => undefined));
    await flaky.ping(); // after the queues' own start-up commands, which were sent first
    flaky.disconnect();

    const workers: DeliveryWorkers = startDeliveryWorkers({
      config,
      logger: silentLogger(),
      replies: { outbound, results: reports },
    });
    cleanups.push(() => workers.close(1000));
    const producer = new DeliveryProducer({ connection: admin, prefix, targets, dedupeWindowMs: 60_000 });
    cleanups.push(() => producer.close());
    const event = normalize(GROUP_AT_MESSAGE, CTX);
    const eventId = event.envelope.id;
    expect(await producer.enqueue(event)).toEqual(['backend']);

    const backendQueue = deliveryQueue('backend', prefix, admin);
    cleanups.push(() => backendQueue.close());
    const jobId = jobIdForEvent(eventId);
    const logged = async (): Promise<Record<string, unknown>[]> =>
      (await backendQueue.getJobLogs(jobId)).logs.map((line) => JSON.parse(line) as Record<string, unknown>);
    // The first attempt stored both messages, then failed to report the malformed one.
    await waitFor(async () => (await logged()).length > 0);
    await flaky.connect();
    await waitFor(async () => (await backendQueue.getJobState(jobId)) === 'completed');

    expect(new Set(backend.requests.map((r) => r.headers['webhook-id']))).toEqual(new Set([eventId]));
    expect(backend.requests.length).toBeGreaterThanOrEqual(2);
    const [firstRecord] = await logged();
    expect(firstRecord).toMatchObject({
      attempt: 1,
      outcome: 'delivered',
      error: expect.stringContaining('replies could not be stored') as unknown,
    });

    const outboundView = new Queue<OutboundJobData>(outboundQueueName(config.qq.appId), {
      connection: admin,
      prefix: outboundQueuePrefix(prefix, config.qq.appId),
    });
    cleanups.push(() => outboundView.close());
    const stored = (await outboundView.getJobs(['waiting'])) as { data: OutboundMessageJob }[];
    expect(stored.map((j) => [j.data.body['content'], j.data.body['msg_seq']]).sort()).toEqual([
      ['a', 1],
      ['b', 2],
    ]);

    const resultsQueue = deliveryQueue('results', prefix, admin);
    cleanups.push(() => resultsQueue.close());
    await waitFor(async () => (await resultsQueue.getJobCounts('completed')).completed === 1);
    const [report] = await resultsQueue.getJobs(['completed']);
    expect(JSON.parse(report!.data.body)).toMatchObject({
      type: 'bridge.message.failed',
      data: { reply_to: { event_id: eventId, target_id: 'backend' }, attempts: 0 },
    });
    expect(results.requests).toHaveLength(1);
  });
});
