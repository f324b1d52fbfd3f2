import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isBridgeError } from '../../src/errors.js';
import type { OutboundMessageJob } from '../../src/outbound/message.js';
import { OutboundQueue, seqKeyOf } from '../../src/outbound/send-queue.js';
import { deletePrefix, freshPrefix, redisConnection } from '../helpers/redis.js';

describe('OutboundQueue', () => {
  let prefix: string;
  let redis: Redis;
  let queue: OutboundQueue;

  beforeEach(() => {
    prefix = freshPrefix('outq');
    redis = redisConnection();
    queue = new OutboundQueue({ connection: redis, prefix, appId: '102000000', attempts: 5 });
  });

  afterEach(async () => {
    await queue.close();
    redis.disconnect();
    await deletePrefix(prefix);
  });

  async function stored(id: string): Promise<OutboundMessageJob> {
    const job = await queue.queue.getJob(id);
    expect(job).toBeDefined();
    return job!.data as OutboundMessageJob;
  }

  const reply = (msgId: string, dedupeId: string) => ({
    scene: 'group' as const,
    openid: 'G1',
    body: { content: 'hi', msg_type: 0, msg_id: msgId },
    source: 'reply' as const,
    dedupeId,
  });

  it('numbers the passive messages of one msg_id 1, 2, 3 and keeps each number on a repeated enqueue', async () => {
    const first = await queue.enqueueMessage(reply('M1', 'a'));
    const second = await queue.enqueueMessage(reply('M1', 'b'));
    const again = await queue.enqueueMessage(reply('M1', 'a'));
    const other = await queue.enqueueMessage(reply('M2', 'c'));
    expect(again).toBe(first);
    expect((await stored(first)).body['msg_seq']).toBe(1);
    expect((await stored(second)).body['msg_seq']).toBe(2);
    expect((await stored(other)).body['msg_seq']).toBe(1);
    expect(await queue.queue.getJobCountByTypes('waiting')).toBe(3);
  });

  it('does not count a repeated enqueue of one message against the limit', async () => {
    for (let i = 0; i < 6; i++) await queue.enqueueMessage(reply('M1', 'same'));
    const next = await queue.enqueueMessage(reply('M1', 'next'));
    expect((await stored(next)).body['msg_seq']).toBe(2);
  });

  it('refuses a sixth message to one inbound id and stores nothing for it', async () => {
    for (const n of [1, 2, 3, 4, 5]) await queue.enqueueMessage(reply('M1', `r${n}`));
    const sixth = queue.enqueueMessage(reply('M1', 'r6'));
    await expect(sixth).rejects.toSatisfy((err: unknown) => isBridgeError(err, 'BRIDGE_ERR_REPLY_LIMIT'));
    expect(await queue.queue.getJobCountByTypes('waiting')).toBe(5);
  });

  it('counts event_id replies apart from msg_id ones and leaves an explicit msg_seq alone', async () => {
    const byEvent = await queue.enqueueMessage({
      scene: 'group',
      openid: 'G1',
      body: { content: 'welcome', event_id: 'GROUP_ADD_ROBOT:1' },
      source: 'reply',
    });
    const explicit = await queue.enqueueMessage({
      scene: 'c2c',
      openid: 'U1',
      body: { content: 'x', msg_id: 'M9', msg_seq: 7 },
      source: 'api',
    });
    const active = await queue.enqueueMessage({
      scene: 'c2c',
      openid: 'U1',
      body: { content: 'x' },
      source: 'api',
    });
    expect((await stored(byEvent)).body['msg_seq']).toBe(1);
    expect((await stored(explicit)).body['msg_seq']).toBe(7);
    expect((await stored(active)).body['msg_seq']).toBeUndefined();
  });

  it('returns the same id for a repeated Idempotency-Key and stores one job', async () => {
    const request = {
      scene: 'group' as const,
      openid: 'G1',
      body: { content: 'once' },
      source: 'api' as const,
      idempotencyKey: 'key-1',
    };
    const first = await queue.enqueueMessage(request);
    const second = await queue.enqueueMessage(request);
    expect(second).toBe(first);
    expect(await queue.queue.getJobCountByTypes('waiting')).toBe(1);
    expect((await stored(first)).idempotencyKey).toBe('key-1');
  });
});

describe('seqKeyOf', () => {
  it.each([
    [{ msg_id: 'M' }, 'm:M'],
    [{ event_id: 'E' }, 'e:E'],
    [{ msg_id: 'M', event_id: 'E' }, 'm:M'],
    [{ msg_id: '' }, undefined],
    [{ content: 'active' }, undefined],
  ])('%j → %s', (body, key) => {
    expect(seqKeyOf(body)).toBe(key);
  });
});
