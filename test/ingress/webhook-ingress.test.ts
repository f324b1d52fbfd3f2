import { Readable } from 'node:stream';
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DispatchFrame } from '../../src/events/envelope.js';
import { CALLBACK_ACK } from '../../src/ingress/webhook-ingress.js';
import { DeliveryProducer } from '../../src/queue/producer.js';
import { deliveryQueue } from '../../src/queue/delivery-queue.js';
import { testTarget } from '../helpers/config.js';
import { deletePrefix, freshPrefix, redisConnection } from '../helpers/redis.js';
import {
  APP_ID,
  SEED_FRAME,
  WEBHOOK,
  enqueueInto,
  post,
  signedHeaders,
  startIngress,
  unixSeconds,
  type RunningIngress,
} from './fixtures.js';

const running: RunningIngress[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((ingress) => ingress.close()));
});

async function ingress(...args: Parameters<typeof startIngress>): Promise<RunningIngress> {
  const started = await startIngress(...args);
  running.push(started);
  return started;
}

/** An ingress whose accept records frames and resolves at once. */
async function recording(): Promise<{ ingress: RunningIngress; accepted: DispatchFrame[] }> {
  const accepted: DispatchFrame[] = [];
  const started = await ingress({
    accept: (frame) => {
      accepted.push(frame);
      return Promise.resolve();
    },
  });
  return { ingress: started, accepted };
}

async function rejectedCount(target: RunningIngress, reason: string): Promise<number> {
  const text = await target.metrics.render();
  const line = text.split('\n').find((l) => l.startsWith(`qqwb_webhook_rejected_total{reason="${reason}"}`));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

/** The bot of QQ's worked op-13 example (docs/qq-protocol.md §6.2, Appendix A): appid 11111111, secret DG5g3B4j9X2KOErG. */
function officialExample(): Promise<RunningIngress> {
  return ingress({
    config: { appId: '11111111', clientSecret: 'DG5g3B4j9X2KOErG', webhook: WEBHOOK },
    accept: () => Promise.reject(new Error('op 13 must not reach accept')),
  });
}

describe('op 13 callback URL validation', () => {
  it('answers the official example with the documented signature of event_ts + plain_token', async () => {
    const official = await officialExample();
    const body = '{"d":{"plain_token":"Arq0D5A61EgUu4OxUvOp","event_ts":"1725442341"},"op":13}';
    const answer = await post(official.url, body, {
      'user-agent': 'QQBot-Callback',
      'x-bot-appid': '11111111',
    });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toEqual({
      plain_token: 'Arq0D5A61EgUu4OxUvOp',
      signature:
        '87befc99c42c651b3aac0278e71ada338433ae26fcb24307bdc5ad38c1adc2d01bcfcadc0842edac85e85205028a1132afe09280305f13aa6909ffc2d652c706',
    });
  });

  it('takes event_ts as a number too, signing its decimal form', async () => {
    const official = await officialExample();
    const body = '{"d":{"plain_token":"Arq0D5A61EgUu4OxUvOp","event_ts":1725442341},"op":13}';
    const answer = await post(official.url, body);
    expect(JSON.parse(answer.text)).toMatchObject({ signature: expect.stringMatching(/^87befc99c42c/) });
  });

  it.each([
    ['a plain_token shaped like a callback body', { plain_token: '{"op":0,"t":"X","d":{}}', event_ts: '1' }],
    ['a non-numeric event_ts', { plain_token: 'Arq0D5A61EgUu4OxUvOp', event_ts: '17254{' }],
    ['a missing plain_token', { event_ts: '1725442341' }],
  ])('refuses to sign %s (op 13 is unauthenticated: no signing oracle)', async (_name, d) => {
    const { ingress: target } = await recording();
    const answer = await post(target.url, JSON.stringify({ op: 13, d }));
    expect(answer.status).toBe(400);
    expect(answer.text).not.toContain('signature');
    expect(await rejectedCount(target, 'invalid_validation')).toBe(1);
  });
});

describe('signed callbacks', () => {
  it('hands a valid op-0 callback to accept without s, then ACKs with op 12', async () => {
    const { ingress: target, accepted } = await recording();
    const body = JSON.stringify(SEED_FRAME);
    const answer = await post(target.url, body, signedHeaders(body));
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toEqual({ op: 12, d: 0 });
    expect(accepted).toEqual([{ op: 0, id: SEED_FRAME.id, t: 'GROUP_ADD_ROBOT', d: SEED_FRAME.d }]);
    expect(accepted[0]).not.toHaveProperty('s');
  });

  it('verifies the raw bytes: a callback with extra whitespace, signed as sent, is accepted', async () => {
    const { ingress: target, accepted } = await recording();
    const body = `{ "op": 0,\n  "id": "FRIEND_ADD:1", "t": "FRIEND_ADD", "d": {"openid": "U", "timestamp": 1}}`;
    expect((await post(target.url, body, signedHeaders(body))).status).toBe(200);
    expect(accepted.map((frame) => frame.id)).toEqual(['FRIEND_ADD:1']);
  });

  it.each([
    ['no signature headers', () => ({ 'content-type': 'application/json' }), 'missing_signature'],
    [
      'a signature of another body',
      () => ({ ...signedHeaders(JSON.stringify({ ...SEED_FRAME, id: 'other' })) }),
      'bad_signature',
    ],
    [
      'a signature made with another secret',
      () => signedHeaders(JSON.stringify(SEED_FRAME), unixSeconds(), 'not-the-bot-secret'),
      'bad_signature',
    ],
    [
      'a signature over another timestamp',
      () => ({
        ...signedHeaders(JSON.stringify(SEED_FRAME)),
        'x-signature-timestamp': unixSeconds(Date.now() + 1000),
      }),
      'bad_signature',
    ],
    [
      'a valid signature 6 minutes old',
      () => signedHeaders(JSON.stringify(SEED_FRAME), unixSeconds(Date.now() - 360_000)),
      'stale',
    ],
    [
      'a valid signature 6 minutes ahead',
      () => signedHeaders(JSON.stringify(SEED_FRAME), unixSeconds(Date.now() + 360_000)),
      'stale',
    ],
  ])('refuses a callback with %s: 401, counted, never accepted', async (_name, headers, reason) => {
    const { ingress: target, accepted } = await recording();
    const answer = await post(target.url, JSON.stringify(SEED_FRAME), headers());
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.text)).toEqual({ error: reason });
    expect(accepted).toEqual([]);
    expect(await rejectedCount(target, reason)).toBe(1);
  });

  it('accepts a timestamp just inside max_skew by the injected clock', async () => {
    const accepted: DispatchFrame[] = [];
    const signedAt = 1_700_000_000_000;
    const target = await ingress({
      now: () => signedAt + 299_000,
      accept: (frame) => Promise.resolve(void accepted.push(frame)),
    });
    const body = JSON.stringify(SEED_FRAME);
    expect((await post(target.url, body, signedHeaders(body, unixSeconds(signedAt)))).status).toBe(200);
    expect(accepted).toHaveLength(1);
  });

  it('refuses a callback for another bot (X-Bot-Appid) with 403', async () => {
    const { ingress: target, accepted } = await recording();
    const body = JSON.stringify(SEED_FRAME);
    const answer = await post(target.url, body, { ...signedHeaders(body), 'x-bot-appid': '999' });
    expect(answer.status).toBe(403);
    expect(accepted).toEqual([]);
    expect(await rejectedCount(target, 'wrong_app')).toBe(1);
  });

  it('answers 413 to a body over max_body_bytes, declared or streamed', async () => {
    const { ingress: target, accepted } = await recording();
    const big = JSON.stringify({ ...SEED_FRAME, d: { pad: 'x'.repeat(5000) } });
    const declared = await post(target.url, big, signedHeaders(big));
    expect(declared.status).toBe(413);
    expect(declared.headers['connection']).toBe('close');
    // A stream body has no Content-Length: undici sends it chunked, so only the running count can catch it.
    const streamed = await post(target.url, Readable.from([Buffer.from(big)]), signedHeaders(big));
    expect(streamed.status).toBe(413);
    expect(accepted).toEqual([]);
    expect(await rejectedCount(target, 'too_large')).toBe(2);
  });

  it.each([
    ['not JSON', 'op=0'],
    ['a JSON array', '[0]'],
    ['empty', ''],
  ])('answers 400 to a body that is %s', async (_name, body) => {
    const { ingress: target, accepted } = await recording();
    expect((await post(target.url, body, signedHeaders(body))).status).toBe(400);
    expect(accepted).toEqual([]);
    expect(await rejectedCount(target, 'invalid_json')).toBe(1);
  });

  it('answers a signed op-1 heartbeat with op 11 and ACKs an unknown op without accepting it', async () => {
    const { ingress: target, accepted } = await recording();
    const heartbeat = '{"op":1,"d":42}';
    expect(JSON.parse((await post(target.url, heartbeat, signedHeaders(heartbeat))).text)).toEqual({
      op: 11,
      d: 42,
    });
    const unknown = '{"op":99,"d":{}}';
    expect(JSON.parse((await post(target.url, unknown, signedHeaders(unknown))).text)).toEqual(CALLBACK_ACK);
    expect(accepted).toEqual([]);
  });

  it('answers 405 with Allow: POST to other methods', async () => {
    const { ingress: target } = await recording();
    const res = await fetch(target.url);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
  });
});

describe('when the event cannot be stored', () => {
  it('answers 503 without any op 12 when accept rejects, so QQ retries', async () => {
    const target = await ingress({ accept: () => Promise.reject(new Error('redis down and no journal')) });
    const body = JSON.stringify(SEED_FRAME);
    const answer = await post(target.url, body, signedHeaders(body));
    expect(answer.status).toBe(503);
    expect(answer.headers['retry-after']).toBe('1');
    expect(answer.text).not.toContain('"op"');
    expect(await rejectedCount(target, 'not_accepted')).toBe(1);
  });

  it('answers 503 when accept does not finish within acceptTimeoutMs', async () => {
    const target = await ingress({ acceptTimeoutMs: 50, accept: () => new Promise(() => undefined) });
    const body = JSON.stringify(SEED_FRAME);
    const started = Date.now();
    expect((await post(target.url, body, signedHeaders(body))).status).toBe(503);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('ACKs only after accept resolves', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const target = await ingress({ accept: () => gate });
    const body = JSON.stringify(SEED_FRAME);
    let answered = false;
    const answer = post(target.url, body, signedHeaders(body)).then((a) => {
      answered = true;
      return a;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(answered).toBe(false);
    release();
    expect((await answer).status).toBe(200);
  });
});

describe('replayed callbacks with a real producer', () => {
  let prefix: string;
  let redis: Redis;
  let producer: DeliveryProducer;

  beforeEach(() => {
    prefix = freshPrefix('test');
    redis = redisConnection();
    producer = new DeliveryProducer({
      connection: redis,
      prefix,
      targets: [testTarget({ id: 'backend', url: 'http://127.0.0.1:9/hook' })],
      dedupeWindowMs: 60_000,
    });
  });

  afterEach(async () => {
    await producer.close();
    await deletePrefix(prefix);
    redis.disconnect();
  });

  it('produces one job for the same signed callback delivered three times', async () => {
    const target = await ingress({ accept: enqueueInto(producer) });
    const body = JSON.stringify(SEED_FRAME);
    const headers = signedHeaders(body);
    for (let i = 0; i < 3; i++) {
      const answer = await post(target.url, body, headers);
      expect(answer.status).toBe(200);
    }
    // QQ re-signs a re-delivery with a new timestamp: still the same event.
    const resigned = signedHeaders(body, unixSeconds(Date.now() + 2000));
    expect((await post(target.url, body, resigned)).status).toBe(200);

    const queue = deliveryQueue('backend', prefix, redis);
    try {
      const jobs = await queue.getJobs(['waiting', 'delayed', 'active', 'completed', 'failed']);
      expect(jobs).toHaveLength(1);
      const envelope = JSON.parse((jobs[0]?.data as { body: string }).body);
      expect(envelope).toMatchObject({
        id: SEED_FRAME.id,
        type: 'group.bot.added',
        app_id: APP_ID,
        shard: [0, 1],
        seq: null,
      });
      expect(envelope).not.toHaveProperty('malformed');
    } finally {
      await queue.close();
    }
  });
});
