/**
 * Event ids from the frame to the receiver: the producer's job id, the Redis keys and the `webhook-id` header all
 * come from the envelope id, which comes from whatever `id` the frame held. Real Redis, the real producer and
 * worker (undici), a loopback receiver.
 */
import type { Redis } from 'ioredis';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import type { BridgeConfig, TargetConfig } from '../../src/config/types.js';
import { startDeliveryWorkers } from '../../src/delivery/worker.js';
import type { DispatchFrame } from '../../src/events/envelope.js';
import { normalize, type NormalizedEvent } from '../../src/events/normalize.js';
import { silentLogger } from '../../src/log.js';
import { deliveryQueue } from '../../src/queue/delivery-queue.js';
import { listDeadLetters, replayDeadLetters, showDeadLetter } from '../../src/queue/dlq.js';
import { deliveryJobOptions } from '../../src/queue/job-options.js';
import { jobIdForEvent } from '../../src/queue/names.js';
import { DeliveryProducer } from '../../src/queue/producer.js';
import { keysUnder } from '../helpers/redis.js';
import {
  SECRET,
  deletePrefix,
  envelopeBody,
  makeConfig,
  makeTarget,
  redisConnection,
  startReceiver,
  uniquePrefix,
  waitFor,
  type CapturedRequest,
  type Receiver,
} from '../delivery/fixtures.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** A GROUP_ADD_ROBOT dispatch with the given frame id, normalized as the gateway would. */
function botAdded(id: string, seq = 2): NormalizedEvent {
  const frame: DispatchFrame = {
    op: 0,
    s: seq,
    t: 'GROUP_ADD_ROBOT',
    id,
    d: { group_openid: 'G1', op_member_openid: 'M1', timestamp: 1699240248 + seq },
  };
  return normalize(frame, { appId: '102000000', shard: [0, 1], receivedAt: new Date() });
}

interface Pipeline {
  target: TargetConfig;
  config: BridgeConfig;
  connection: Redis;
  producer: DeliveryProducer;
  receiver: Receiver;
  prefix: string;
}

/** Producer, worker and receiver for one target, all closed (and the prefix deleted) after the test. */
async function pipeline(respond?: Parameters<typeof startReceiver>[0]): Promise<Pipeline> {
  const receiver = await startReceiver(respond);
  cleanups.push(() => receiver.close());
  const prefix = uniquePrefix();
  cleanups.push(() => deletePrefix(prefix));
  // One attempt: an id that breaks the request dead-letters at once instead of retrying.
  const target = makeTarget({
    id: 'ids',
    url: receiver.url,
    retry: { attempts: 1, baseMs: 50, maxMs: 500 },
  });
  const config = makeConfig(prefix, [target]);
  const connection = redisConnection();
  cleanups.push(() => connection.quit());
  const producer = new DeliveryProducer({ connection, prefix, targets: [target], dedupeWindowMs: 60_000 });
  cleanups.push(() => producer.close());
  const workers = startDeliveryWorkers({ config, logger: silentLogger() });
  cleanups.push(() => workers.close(1_000));
  return { target, config, connection, producer, receiver, prefix };
}

/** Waits until the event's job is finished and returns its state. */
async function finalState({ connection, prefix }: Pipeline, eventId: string): Promise<string> {
  const queue = deliveryQueue('ids', prefix, connection);
  cleanups.push(() => queue.close());
  let state = '';
  await waitFor(async () => {
    state = await queue.getJobState(jobIdForEvent(eventId));
    return state === 'completed' || state === 'failed';
  });
  return state;
}

/** The request's webhook headers, verified with the standardwebhooks package as a receiver would. */
function verified(request: CapturedRequest): { id: string; body: unknown } {
  const header = (name: string): string => String(request.headers[name]);
  const headers = {
    'webhook-id': header('webhook-id'),
    'webhook-timestamp': header('webhook-timestamp'),
    'webhook-signature': header('webhook-signature'),
  };
  return { id: headers['webhook-id'], body: new Webhook(SECRET).verify(request.body, headers) };
}

/** Every key under the prefix (in any key layout), longest first. */
async function keysLongestFirst(connection: Redis, prefix: string): Promise<string[]> {
  return (await keysUnder(connection, prefix)).sort((a, b) => b.length - a.length);
}

describe('event ids end to end', () => {
  it('delivers two events whose ids differ only in | versus :', async () => {
    const p = await pipeline();
    const pipe = botAdded('GROUP_ADD_ROBOT|collide', 2);
    const colon = botAdded('GROUP_ADD_ROBOT:collide', 3);
    expect(await p.producer.enqueue(pipe)).toEqual(['ids']);
    expect(await p.producer.enqueue(colon)).toEqual(['ids']);

    expect(await finalState(p, pipe.envelope.id)).toBe('completed');
    expect(await finalState(p, colon.envelope.id)).toBe('completed');
    // A job completes only once its request was answered, so both requests are in.
    expect(p.receiver.requests.map((r) => verified(r).id).sort()).toEqual([
      'GROUP_ADD_ROBOT:collide',
      'GROUP_ADD_ROBOT|collide',
    ]);
  });

  it('turns a 1 MiB frame id into a short webhook-id, job id and Redis keys', async () => {
    const p = await pipeline();
    const event = botAdded(`GROUP_ADD_ROBOT:${'x'.repeat(1024 * 1024)}`);
    await p.producer.enqueue(event);

    expect(await finalState(p, event.envelope.id)).toBe('completed');
    const [request] = p.receiver.requests;
    const { id, body } = verified(request!);
    expect(id).toMatch(/^GROUP_ADD_ROBOT:[0-9a-f]{32}$/);
    expect(body).toMatchObject({ id, type: 'group.bot.added' });
    const [longest] = await keysLongestFirst(p.connection, p.prefix);
    expect(longest!.length).toBeLessThan(200);
  });

  it('sends a frame id with CR, LF or non-ASCII characters as a valid header that splits nothing', async () => {
    const p = await pipeline();
    const event = botAdded('GROUP_ADD_ROBOT:a\r\nx-injected: 1\r\n群');
    await p.producer.enqueue(event);

    expect(await finalState(p, event.envelope.id)).toBe('completed');
    const [request] = p.receiver.requests;
    expect(request!.headers['x-injected']).toBeUndefined();
    const { id, body } = verified(request!);
    expect(id).toMatch(/^GROUP_ADD_ROBOT:[0-9a-f]{32}$/);
    expect(body).toMatchObject({ id });
    // The same frame again (QQ replaying it) gets the same id, so it is recognised as a duplicate.
    expect(botAdded('GROUP_ADD_ROBOT:a\r\nx-injected: 1\r\n群').envelope.id).toBe(id);
  });

  it('still lists, shows and replays by its event id a dead letter enqueued under the job id of before', async () => {
    let status = 400;
    const p = await pipeline((_req, res) => {
      res.statusCode = status;
      res.end();
    });
    const queue = deliveryQueue('ids', p.prefix, p.connection);
    cleanups.push(() => queue.close());
    const eventId = 'GROUP_ADD_ROBOT:3f6b1c2e-enqueued-before';
    // What the producer wrote before | and % were escaped: every : made |, nothing else changed.
    const jobIdBefore = `ev|${eventId.replaceAll(':', '|')}`;
    const data = {
      eventId,
      type: 'group.bot.added',
      qqType: 'GROUP_ADD_ROBOT',
      body: envelopeBody(eventId),
      enqueuedAt: Date.now(),
    };
    const options = { ...deliveryJobOptions(p.target, eventId, eventId, 60_000), jobId: jobIdBefore };
    await queue.add('group.bot.added', data, options);
    await waitFor(async () => (await queue.getJobState(jobIdBefore)) === 'failed');

    expect(await listDeadLetters(queue)).toMatchObject([{ eventId, lastStatus: 400 }]);
    expect(await showDeadLetter(queue, eventId)).toMatchObject({ eventId, envelope: { id: eventId } });
    status = 200;
    expect(await replayDeadLetters(queue, { eventId })).toBe(1);
    expect(await finalState(p, eventId)).toBe('completed');
    expect(p.receiver.requests.map((r) => r.headers['webhook-id'])).toEqual([eventId, eventId]);
  });
});
