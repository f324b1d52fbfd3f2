import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_EVENT_ID_LENGTH } from '../../src/events/event-id.js';
import type { OutboundInteractionJob, OutboundMessageJob } from '../../src/outbound/message.js';
import {
  outboundResultEnvelope,
  refusedReplyEnvelope,
  reportOutboundResult,
  reportRefusedReply,
  resultEventId,
  type ResultEnvelopeContext,
} from '../../src/outbound/result-envelope.js';
import { deliveryQueue, type DeliveryQueue } from '../../src/queue/delivery-queue.js';
import { DeliveryProducer } from '../../src/queue/producer.js';
import { testTarget } from '../helpers/config.js';
import { deletePrefix, freshPrefix, redisConnection } from '../helpers/redis.js';
import { schemaErrors } from '../events/envelope-schema.js';

const CONTEXT: ResultEnvelopeContext = {
  appId: '102000000',
  occurredAt: new Date('2026-12-01T10:00:02.000Z'),
  receivedAt: new Date('2026-12-01T10:00:02.500Z'),
};

const REPLY: OutboundMessageJob = {
  kind: 'message',
  id: 'ob_0123456789abcdef0123456789abcdef',
  scene: 'group',
  openid: 'C9F778FE6ADF9D1D1DBE395BF744A33A',
  body: { content: 'hi', msg_type: 0, msg_id: 'ROBOT1.0_m', msg_seq: 1 },
  source: 'reply',
  inbound: { eventId: 'GROUP_AT_MESSAGE_CREATE:abc', targetId: 'backend' },
  deadline: Date.parse('2026-12-01T10:05:00.000Z'),
  enqueuedAt: Date.parse('2026-12-01T10:00:01.000Z'),
};

const API_SEND: OutboundMessageJob = {
  kind: 'message',
  id: 'ob_fedcba9876543210fedcba9876543210',
  scene: 'c2c',
  openid: '7D296480D464EC5C16714E74A43E5BC7',
  body: { content: 'hello' },
  source: 'api',
  idempotencyKey: 'order-42',
  enqueuedAt: 0,
};

const ACK: OutboundInteractionJob = {
  kind: 'interaction',
  id: 'ob_11111111111111111111111111111111',
  interactionId: 'c899f03f-7cae-431b-9982-c4fc8b28de21',
  code: 0,
  source: 'reply',
  inbound: { eventId: 'INTERACTION_CREATE:5fd2', targetId: 'backend' },
  enqueuedAt: 0,
};

describe('result envelopes', () => {
  it('makes bridge.message.sent of a sent reply, with the envelope fields and QQ answer', () => {
    const envelope = outboundResultEnvelope(
      REPLY,
      { outcome: 'sent', attempts: 2, sent: { qqId: 'ROBOT1.0_x', timestamp: 1764583202, attempt: 2 } },
      CONTEXT,
    );
    expect(envelope).toEqual({
      id: 'bridge.message.sent:ob_0123456789abcdef0123456789abcdef',
      type: 'bridge.message.sent',
      qq_type: 'BRIDGE_MESSAGE_SENT',
      occurred_at: '2026-12-01T10:00:02.000Z',
      received_at: '2026-12-01T10:00:02.500Z',
      app_id: '102000000',
      shard: [0, 1],
      seq: null,
      data: {
        outbound_id: REPLY.id,
        kind: 'message',
        source: 'reply',
        scene: 'group',
        openid: REPLY.openid,
        reply_to: { event_id: 'GROUP_AT_MESSAGE_CREATE:abc', target_id: 'backend' },
        qq: { id: 'ROBOT1.0_x', timestamp: 1764583202 },
        attempts: 2,
      },
      v: 1,
    });
    expect(schemaErrors(envelope)).toEqual([]);
  });

  it('says duplicate when QQ already had the message, and echoes an API Idempotency-Key', () => {
    const envelope = outboundResultEnvelope(
      API_SEND,
      { outcome: 'duplicate', attempts: 3, sent: { duplicate: true, attempt: 3 } },
      CONTEXT,
    );
    expect(envelope?.data).toEqual({
      outbound_id: API_SEND.id,
      kind: 'message',
      source: 'api',
      scene: 'c2c',
      openid: API_SEND.openid,
      idempotency_key: 'order-42',
      qq: { duplicate: true },
      attempts: 3,
    });
    expect(schemaErrors(envelope)).toEqual([]);
  });

  it.each([
    ['failed', { code: 'QQ_40034005', message: 'QQ refused it' }, 1],
    ['expired', { code: 'BRIDGE_ERR_REPLY_EXPIRED', message: 'the reply window closed' }, 0],
  ] as const)('makes bridge.message.failed of a %s job, with the error', (outcome, error, attempts) => {
    const envelope = outboundResultEnvelope(REPLY, { outcome, attempts, error }, CONTEXT);
    expect(envelope).toMatchObject({
      id: `bridge.message.failed:${REPLY.id}`,
      type: 'bridge.message.failed',
      qq_type: 'BRIDGE_MESSAGE_FAILED',
      data: { outbound_id: REPLY.id, error, attempts },
    });
    expect(envelope?.data).not.toHaveProperty('qq');
    expect(schemaErrors(envelope)).toEqual([]);
  });

  it('describes an interaction acknowledgement without a scene', () => {
    const envelope = outboundResultEnvelope(
      ACK,
      { outcome: 'sent', attempts: 1, sent: { attempt: 1 } },
      CONTEXT,
    );
    expect(envelope?.data).toEqual({
      outbound_id: ACK.id,
      kind: 'interaction',
      source: 'reply',
      scene: null,
      openid: null,
      interaction_id: ACK.interactionId,
      reply_to: { event_id: 'INTERACTION_CREATE:5fd2', target_id: 'backend' },
      qq: {},
      attempts: 1,
    });
    expect(schemaErrors(envelope)).toEqual([]);
  });

  it('makes no envelope for a retry, which is not final', () => {
    expect(outboundResultEnvelope(REPLY, { outcome: 'retry', attempts: 1 }, CONTEXT)).toBeUndefined();
  });

  it('makes bridge.message.failed of a refused reply, attempts 0, scene when the event has one', () => {
    const refused = refusedReplyEnvelope(
      {
        outboundId: 'ob_22222222222222222222222222222222',
        kind: 'message',
        scene: 'group',
        openid: 'C9F778FE6ADF9D1D1DBE395BF744A33A',
        inbound: { eventId: 'GROUP_DEL_ROBOT:1', targetId: 'backend' },
        error: { code: 'BRIDGE_ERR_REPLY_REFUSED', message: 'QQ does not accept replies to GROUP_DEL_ROBOT' },
      },
      CONTEXT,
    );
    expect(refused.data).toEqual({
      outbound_id: 'ob_22222222222222222222222222222222',
      kind: 'message',
      source: 'reply',
      scene: 'group',
      openid: 'C9F778FE6ADF9D1D1DBE395BF744A33A',
      reply_to: { event_id: 'GROUP_DEL_ROBOT:1', target_id: 'backend' },
      error: { code: 'BRIDGE_ERR_REPLY_REFUSED', message: 'QQ does not accept replies to GROUP_DEL_ROBOT' },
      attempts: 0,
    });
    expect(schemaErrors(refused)).toEqual([]);
    const nowhere = refusedReplyEnvelope(
      {
        outboundId: 'ob_3',
        kind: 'message',
        inbound: { eventId: 'X:1', targetId: 'backend' },
        error: { code: 'BRIDGE_ERR_REPLY_REFUSED', message: 'no scene' },
      },
      CONTEXT,
    );
    expect(nowhere.data).toMatchObject({ scene: null, openid: null });
    expect(schemaErrors(nowhere)).toEqual([]);
  });

  it('is refused by the schema without its qq answer or error, or with a malformed entry', () => {
    const sent = outboundResultEnvelope(
      REPLY,
      { outcome: 'sent', attempts: 1, sent: { attempt: 1 } },
      CONTEXT,
    )!;
    const failed = outboundResultEnvelope(REPLY, { outcome: 'expired', attempts: 0 }, CONTEXT)!;
    const { qq: _qq, ...withoutQq } = sent.data;
    const { error: _error, ...withoutError } = failed.data;
    expect(schemaErrors({ ...sent, data: withoutQq })).not.toEqual([]);
    expect(schemaErrors({ ...failed, data: withoutError })).not.toEqual([]);
    expect(schemaErrors({ ...sent, malformed: ['x'] })).not.toEqual([]);
    expect(schemaErrors({ ...sent, qq_type: 'BRIDGE_MESSAGE_FAILED' })).not.toEqual([]);
    expect(schemaErrors({ ...sent, data: { ...sent.data, scene: 'guild' } })).not.toEqual([]);
  });

  it('keeps an id within the envelope id rules whatever the outbound id', () => {
    const ids = [
      resultEventId('bridge.message.failed', 'ob_x'),
      resultEventId('bridge.message.sent', 'ob 群'.repeat(50)),
    ];
    expect(ids[0]).toBe('bridge.message.failed:ob_x');
    for (const id of ids) {
      expect(id.length).toBeLessThanOrEqual(MAX_EVENT_ID_LENGTH);
      expect(id).toMatch(/^[!-~]+$/);
    }
    expect(ids[1]).toMatch(/^bridge\.message\.sent:[0-9a-f]{32}$/);
  });
});

describe('reporting results through the producer', () => {
  let prefix: string;
  let redis: Redis;
  let producer: DeliveryProducer;
  let queues: Record<string, DeliveryQueue>;

  beforeEach(() => {
    prefix = freshPrefix('results');
    redis = redisConnection();
    const targets = [
      testTarget({ id: 'results', url: 'http://127.0.0.1:9/r', events: ['bridge.*'] }),
      testTarget({ id: 'failures', url: 'http://127.0.0.1:9/f', events: ['BRIDGE_MESSAGE_FAILED'] }),
      testTarget({ id: 'everything', url: 'http://127.0.0.1:9/e', events: ['*'] }),
    ];
    producer = new DeliveryProducer({ connection: redis, prefix, targets, dedupeWindowMs: 60_000 });
    queues = Object.fromEntries(targets.map((t) => [t.id, deliveryQueue(t.id, prefix, redis)]));
  });

  afterEach(async () => {
    await producer.close();
    await Promise.all(Object.values(queues).map((q) => q.close()));
    redis.disconnect();
    await deletePrefix(prefix);
  });

  async function bodies(target: string): Promise<Record<string, unknown>[]> {
    const jobs = await queues[target]!.getJobs(['waiting']);
    return jobs.map((job) => JSON.parse(job.data.body) as Record<string, unknown>);
  }

  it('delivers a sent result to bridge.* subscribers only, and a repeated report once', async () => {
    const result = { outcome: 'sent', attempts: 1, sent: { qqId: 'q1', timestamp: 1, attempt: 1 } } as const;
    expect(await reportOutboundResult(producer, REPLY, result, { appId: '102000000' })).toEqual(['results']);
    expect(await reportOutboundResult(producer, REPLY, result, { appId: '102000000' })).toEqual(['results']);
    expect(
      await reportOutboundResult(producer, REPLY, { outcome: 'retry', attempts: 1 }, { appId: 'a' }),
    ).toEqual([]);
    const delivered = await bodies('results');
    expect(delivered).toHaveLength(1);
    expect(delivered[0]).toMatchObject({ type: 'bridge.message.sent', data: { outbound_id: REPLY.id } });
    expect(schemaErrors(delivered[0])).toEqual([]);
    expect(await bodies('failures')).toEqual([]);
    expect(await bodies('everything')).toEqual([]);
  });

  it('delivers a refused reply to the subscribers of failures', async () => {
    const targets = await reportRefusedReply(
      producer,
      {
        outboundId: 'ob_4',
        kind: 'message',
        inbound: { eventId: 'GROUP_DEL_ROBOT:1', targetId: 'everything' },
        error: { code: 'BRIDGE_ERR_REPLY_REFUSED', message: 'no' },
      },
      { appId: '102000000', occurredAt: new Date('2026-12-01T00:00:00.000Z') },
    );
    expect(targets.sort()).toEqual(['failures', 'results']);
    const [failure] = await bodies('failures');
    expect(failure).toMatchObject({
      id: 'bridge.message.failed:ob_4',
      occurred_at: '2026-12-01T00:00:00.000Z',
      data: { attempts: 0, reply_to: { event_id: 'GROUP_DEL_ROBOT:1', target_id: 'everything' } },
    });
    expect(await bodies('everything')).toEqual([]);
  });
});

describe('docs/envelope.md', () => {
  it('shows bridge.message.sent and bridge.message.failed examples that validate against the schema', () => {
    const doc = readFileSync(new URL('../../docs/envelope.md', import.meta.url), 'utf8');
    const examples = [...doc.matchAll(/```json\n([\s\S]*?)\n```/g)]
      .map((match) => JSON.parse(match[1]!) as Record<string, unknown>)
      .filter((example) => String(example['type']).startsWith('bridge.'));
    expect(examples.map((example) => example['type'])).toEqual([
      'bridge.message.sent',
      'bridge.message.failed',
    ]);
    for (const example of examples) expect(schemaErrors(example)).toEqual([]);
  });
});
