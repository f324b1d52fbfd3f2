import { spawnSync } from 'node:child_process';
import type { LookupFunction } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import {
  RECORDED_BODY_BYTES,
  RESPONSE_READ_LIMIT_BYTES,
  WebhookDeliverer,
  USER_AGENT,
} from '../../src/delivery/deliver.js';
import { BridgeError } from '../../src/errors.js';
import { envelopeBody, makeTarget, SECRET, startReceiver, type Receiver } from './fixtures.js';

const VERIFY_PY = fileURLToPath(new URL('../../examples/python/verify.py', import.meta.url));

let receiver: Receiver | undefined;
let deliverer: WebhookDeliverer | undefined;

afterEach(async () => {
  await deliverer?.close();
  await receiver?.close();
  deliverer = undefined;
  receiver = undefined;
});

function pyVerify(
  secret: string,
  headers: Record<string, unknown>,
  body: string,
): { ok: boolean; out: string } {
  const run = spawnSync('python3', [VERIFY_PY], {
    input: JSON.stringify({ secret, headers, body }),
    encoding: 'utf8',
  });
  return { ok: run.status === 0, out: run.stdout.trim() };
}

describe('WebhookDeliverer', () => {
  it('POSTs the body with Standard Webhooks and bridge headers that verify with standardwebhooks', async () => {
    receiver = await startReceiver();
    deliverer = new WebhookDeliverer();
    const target = makeTarget({
      id: 'backend',
      url: receiver.url,
      headers: { 'X-Env': 'prod', 'Webhook-Id': 'spoofed' },
    });
    const body = envelopeBody('GROUP_ADD_ROBOT:abc');
    const result = await deliverer.deliver(target, { eventId: 'GROUP_ADD_ROBOT:abc', body, attempt: 1 });

    expect(result).toMatchObject({ attempt: 1, status: 200, outcome: 'delivered', body: 'ok' });
    expect(result.errorCode).toBeUndefined();
    expect(result.latencyMs).toBeGreaterThanOrEqual(0);
    const [req] = receiver.requests;
    expect(req?.method).toBe('POST');
    expect(req?.url).toBe('/hook');
    expect(req?.body).toBe(body);
    expect(req?.headers).toMatchObject({
      'content-type': 'application/json',
      'user-agent': USER_AGENT,
      'webhook-id': 'GROUP_ADD_ROBOT:abc',
      'x-qqwb-target': 'backend',
      'x-qqwb-attempt': '1',
      'x-env': 'prod',
    });
    expect(USER_AGENT).toBe('qq-webhook-bridge/0.1.0');
    expect(Math.abs(Number(req?.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(5);
    const verified = new Webhook(SECRET).verify(req!.body, req!.headers as Record<string, string>);
    expect(verified).toEqual(JSON.parse(body));
  });

  it('keeps webhook-id across attempts while webhook-timestamp and x-qqwb-attempt follow each attempt', async () => {
    receiver = await startReceiver((_req, res, index) => {
      res.statusCode = index === 0 ? 503 : 200;
      res.end();
    });
    let clock = Date.parse('2026-11-25T12:00:00Z');
    deliverer = new WebhookDeliverer({ now: () => clock });
    const target = makeTarget({ id: 't', url: receiver.url });
    const input = { eventId: 'GROUP_ADD_ROBOT:stable', body: envelopeBody('GROUP_ADD_ROBOT:stable') };

    const first = await deliverer.deliver(target, { ...input, attempt: 1 });
    clock += 61_000;
    const second = await deliverer.deliver(target, { ...input, attempt: 2 });

    expect(first).toMatchObject({ outcome: 'retry', status: 503, errorCode: 'HTTP_503' });
    expect(second).toMatchObject({ outcome: 'delivered', status: 200, at: '2026-11-25T12:01:01.000Z' });
    const [a, b] = receiver.requests;
    expect(a?.headers['webhook-id']).toBe('GROUP_ADD_ROBOT:stable');
    expect(b?.headers['webhook-id']).toBe('GROUP_ADD_ROBOT:stable');
    expect(Number(b?.headers['webhook-timestamp']) - Number(a?.headers['webhook-timestamp'])).toBe(61);
    expect([a?.headers['x-qqwb-attempt'], b?.headers['x-qqwb-attempt']]).toEqual(['1', '2']);
    expect(a?.headers['webhook-signature']).not.toBe(b?.headers['webhook-signature']);
  });

  it('does not follow a 302: one request, outcome rejected', async () => {
    receiver = await startReceiver((req, res) => {
      if (req.url === '/hook') {
        res.writeHead(302, { location: '/elsewhere' });
        res.end('moved');
      } else {
        res.end('should never be reached');
      }
    });
    deliverer = new WebhookDeliverer();
    const result = await deliverer.deliver(makeTarget({ id: 't', url: receiver.url }), {
      eventId: 'e1',
      body: '{}',
      attempt: 1,
    });
    expect(result).toMatchObject({ status: 302, outcome: 'rejected', errorCode: 'HTTP_302' });
    expect(result.error).toMatch(/redirects are not followed/);
    expect(receiver.requests.map((r) => r.url)).toEqual(['/hook']);
  });

  it('gives up on a target that never answers after timeoutMs, as a retryable timeout', async () => {
    receiver = await startReceiver(() => {
      // never respond
    });
    deliverer = new WebhookDeliverer();
    const started = performance.now();
    const result = await deliverer.deliver(makeTarget({ id: 't', url: receiver.url, timeoutMs: 300 }), {
      eventId: 'e1',
      body: '{}',
      attempt: 1,
    });
    const elapsed = performance.now() - started;
    expect(result.outcome).toBe('retry');
    expect(result.errorKind).toBe('timeout');
    expect(['ETIMEDOUT', 'UND_ERR_HEADERS_TIMEOUT']).toContain(result.errorCode);
    expect(result.status).toBeUndefined();
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(2000);
  });

  it('retries a refused connection and classifies it', async () => {
    const closed = await startReceiver();
    const url = closed.url;
    await closed.close();
    deliverer = new WebhookDeliverer();
    const result = await deliverer.deliver(makeTarget({ id: 't', url }), {
      eventId: 'e1',
      body: '{}',
      attempt: 3,
    });
    expect(result).toMatchObject({
      attempt: 3,
      outcome: 'retry',
      errorCode: 'ECONNREFUSED',
      errorKind: 'connection_refused',
    });
    expect(result.error).toMatch(/connection refused/);
  });

  it('stops reading an endless response after 64 KiB instead of waiting for the timeout', async () => {
    receiver = await startReceiver((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const chunk = Buffer.alloc(16 * 1024, 'x');
      const pump = (): void => {
        while (!res.destroyed && res.write(chunk)) {
          // fill the socket buffer
        }
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
    });
    deliverer = new WebhookDeliverer();
    const result = await deliverer.deliver(makeTarget({ id: 't', url: receiver.url, timeoutMs: 5000 }), {
      eventId: 'e1',
      body: '{}',
      attempt: 1,
    });
    expect(result.outcome).toBe('delivered');
    expect(result.error).toBeUndefined();
    expect(result.latencyMs).toBeLessThan(2000);
    expect(result.body).toBe('x'.repeat(1024));
  });

  it('records the first 1 KiB of the body without splitting a multi-byte character', async () => {
    const text = 'é'.repeat(3000); // 2 bytes each: byte 1024 falls on a character boundary…
    const odd = `a${text}`; // …and here it does not
    receiver = await startReceiver((req, res) => {
      res.statusCode = 500;
      res.end(req.url === '/hook' ? odd : text);
    });
    deliverer = new WebhookDeliverer();
    const result = await deliverer.deliver(makeTarget({ id: 't', url: receiver.url }), {
      eventId: 'e1',
      body: '{}',
      attempt: 1,
    });
    expect(result).toMatchObject({ status: 500, outcome: 'retry' });
    expect(result.body).toBe(odd.slice(0, 512)); // 'a' + 511 × 'é' = 1023 bytes
    expect(result.body).not.toContain('\uFFFD');
  });

  it('hands back a 2xx answer up to 64 KiB for its replies, and says when it was cut short', async () => {
    const replies = JSON.stringify({ replies: [{ content: 'é'.repeat(2000) }] }); // over 1 KiB, under 64 KiB
    const huge = `{"replies":[{"content":"${'x'.repeat(RESPONSE_READ_LIMIT_BYTES)}"}]}`;
    receiver = await startReceiver((req, res) => {
      if (req.url === '/hook') res.end(replies);
      else if (req.url === '/huge') res.end(huge);
      else if (req.url === '/empty') res.end();
      else {
        res.statusCode = 500;
        res.end(replies);
      }
    });
    deliverer = new WebhookDeliverer();
    const at = (path: string) =>
      deliverer!.deliver(makeTarget({ id: 't', url: receiver!.url.replace('/hook', path) }), {
        eventId: 'e1',
        body: '{}',
        attempt: 1,
      });
    const answered = await at('/hook');
    expect(answered.answer).toEqual({ text: replies, truncated: false });
    expect(Buffer.byteLength(answered.body ?? '')).toBeLessThanOrEqual(RECORDED_BODY_BYTES);
    const cut = await at('/huge');
    expect(cut.answer?.truncated).toBe(true);
    expect(Buffer.byteLength(cut.answer?.text ?? '')).toBe(RESPONSE_READ_LIMIT_BYTES);
    expect((await at('/empty')).answer).toBeUndefined();
    const failed = await at('/error');
    expect(failed).toMatchObject({ status: 500, outcome: 'retry' });
    expect(failed.answer).toBeUndefined();
  });

  it('reports Retry-After (seconds or HTTP date) on retryable responses', async () => {
    const now = Date.parse('2026-11-25T12:00:00Z');
    receiver = await startReceiver((req, res) => {
      if (req.url === '/hook') res.writeHead(429, { 'retry-after': '2' });
      else res.writeHead(503, { 'retry-after': 'Wed, 25 Nov 2026 12:00:30 GMT' });
      res.end();
    });
    deliverer = new WebhookDeliverer({ now: () => now });
    const target = makeTarget({ id: 't', url: receiver.url });
    const seconds = await deliverer.deliver(target, { eventId: 'e1', body: '{}', attempt: 1 });
    const date = await deliverer.deliver(
      { ...target, url: receiver.url.replace('/hook', '/other') },
      { eventId: 'e1', body: '{}', attempt: 1 },
    );
    expect(seconds).toMatchObject({ status: 429, outcome: 'retry', retryAfterMs: 2000 });
    expect(date).toMatchObject({ status: 503, outcome: 'retry', retryAfterMs: 30_000 });
  });

  it('keeps secrets, header values and URL credentials out of errors', async () => {
    const closed = await startReceiver();
    await closed.close();
    deliverer = new WebhookDeliverer();
    const url = `http://user:hunter2pass@127.0.0.1:${closed.port}/hook?token=querytoken123`;
    const refused = await deliverer.deliver(
      makeTarget({ id: 't', url, headers: { authorization: 'Bearer tok3n' } }),
      {
        eventId: 'e1',
        body: '{}',
        attempt: 1,
      },
    );
    const badHeader = await deliverer.deliver(
      makeTarget({ id: 't', url, headers: { 'x-bad': 'Bearer sup3rsecret\r\nx-injected: 1' } }),
      { eventId: 'e1', body: '{}', attempt: 1 },
    );
    expect(refused.outcome).toBe('retry');
    expect(badHeader).toMatchObject({ outcome: 'rejected', errorKind: 'invalid_request' });
    for (const result of [refused, badHeader]) {
      const serialized = JSON.stringify(result);
      for (const secret of ['hunter2pass', 'querytoken123', 'tok3n', 'sup3rsecret', SECRET]) {
        expect(serialized).not.toContain(secret);
      }
    }
  });

  it('lets a custom connect lookup (the SSRF guard) refuse an address: rejected, never retried', async () => {
    receiver = await startReceiver();
    const refuse: LookupFunction = (hostname, _options, callback) => {
      callback(
        new BridgeError('BRIDGE_ERR_SSRF_BLOCKED', `${hostname} resolves to a private address`),
        '',
        4,
      );
    };
    deliverer = new WebhookDeliverer({ connect: { lookup: refuse } });
    const result = await deliverer.deliver(
      makeTarget({ id: 't', url: `http://localhost:${receiver.port}/hook` }),
      { eventId: 'e1', body: '{}', attempt: 1 },
    );
    expect(result).toMatchObject({
      outcome: 'rejected',
      errorCode: 'BRIDGE_ERR_SSRF_BLOCKED',
      errorKind: 'blocked',
    });
    expect(receiver.requests).toHaveLength(0);
  });

  it('returns an aborted retry, not an exception, when the caller aborts (shutdown)', async () => {
    receiver = await startReceiver(() => {
      // never respond
    });
    deliverer = new WebhookDeliverer();
    const controller = new AbortController();
    setTimeout(() => controller.abort('shutdown'), 100);
    const result = await deliverer.deliver(makeTarget({ id: 't', url: receiver.url, timeoutMs: 5000 }), {
      eventId: 'e1',
      body: '{}',
      attempt: 1,
      signal: controller.signal,
    });
    expect(result).toMatchObject({ outcome: 'retry', errorCode: 'BRIDGE_ERR_ABORTED', errorKind: 'aborted' });
  });

  it('aborts every attempt in flight on one shared signal, and never sends one started after it fired', async () => {
    receiver = await startReceiver(() => {
      // never respond
    });
    deliverer = new WebhookDeliverer();
    const target = makeTarget({ id: 't', url: receiver.url, timeoutMs: 5000 });
    const controller = new AbortController();
    const attempt = (eventId: string) =>
      deliverer!.deliver(target, { eventId, body: '{}', attempt: 1, signal: controller.signal });
    // One attempt completes first (its timeout), so the signal outlives a finished follower.
    const early = await deliverer.deliver(makeTarget({ id: 't', url: receiver.url, timeoutMs: 50 }), {
      eventId: 'e0',
      body: '{}',
      attempt: 1,
      signal: controller.signal,
    });
    expect(early.errorCode).toBe('ETIMEDOUT');
    const inFlight = [attempt('e1'), attempt('e2'), attempt('e3')];
    setTimeout(() => controller.abort('shutdown'), 100);
    for (const result of await Promise.all(inFlight)) {
      expect(result).toMatchObject({ outcome: 'retry', errorCode: 'BRIDGE_ERR_ABORTED' });
    }
    const sent = receiver.requests.length;
    expect(await attempt('e4')).toMatchObject({ outcome: 'retry', errorCode: 'BRIDGE_ERR_ABORTED' });
    expect(receiver.requests).toHaveLength(sent);
  });
});

describe('examples/python/verify.py', () => {
  it('accepts a real captured delivery and rejects a tampered or stale one', async () => {
    receiver = await startReceiver();
    deliverer = new WebhookDeliverer();
    const secrets = ['rotating-old-secret', SECRET];
    const body = envelopeBody('GROUP_ADD_ROBOT:py', 'group.bot.added');
    const result = await deliverer.deliver(makeTarget({ id: 'py', url: receiver.url, secrets }), {
      eventId: 'GROUP_ADD_ROBOT:py',
      body,
      attempt: 1,
    });
    expect(result.outcome).toBe('delivered');
    const captured = receiver.requests[0]!;

    expect(pyVerify(SECRET, captured.headers, captured.body)).toEqual({ ok: true, out: 'ok' });
    expect(pyVerify('rotating-old-secret', captured.headers, captured.body).ok).toBe(true);

    const tampered = captured.body.replace('group.bot.added', 'group.bot.removed');
    expect(pyVerify(SECRET, captured.headers, tampered)).toEqual({
      ok: false,
      out: 'fail: no matching signature',
    });
    expect(
      pyVerify('whsec_' + Buffer.from('another key').toString('base64'), captured.headers, captured.body).ok,
    ).toBe(false);
    const stale = { ...captured.headers, 'webhook-timestamp': String(Math.floor(Date.now() / 1000) - 301) };
    expect(pyVerify(SECRET, stale, captured.body)).toEqual({
      ok: false,
      out: 'fail: webhook-timestamp too far from now',
    });
  });
});

describe('examples/python/verify.py as a library', () => {
  it("accepts Standard Webhooks' test vector at its own timestamp", () => {
    const script = [
      'import sys',
      `sys.path.insert(0, ${JSON.stringify(fileURLToPath(new URL('../../examples/python', import.meta.url)))})`,
      'from verify import verify',
      "h = {'Webhook-Id': 'msg_p5jXN8AQM9LWM0D4loKWxJek', 'Webhook-Timestamp': '1614265330',",
      "     'Webhook-Signature': 'v1,bm9ub3Nl v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='}",
      "verify('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', h, b'{\"test\": 2432232314}', now=1614265330 + 299)",
      "print('ok')",
    ].join('\n');
    const run = spawnSync('python3', ['-c', script], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe('ok');
  });
});
