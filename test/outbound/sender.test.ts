import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import type { OutboundInteractionJob, OutboundMessageJob } from '../../src/outbound/message.js';
import { QqSender } from '../../src/outbound/sender.js';
import { AccessTokenManager } from '../../src/qq/access-token.js';
import { QqUnreachableError } from '../../src/qq/rest-client.js';
import { USER_AGENT } from '../../src/version.js';
import { closedOrigin, json, startFakeQq, TOKEN_PATH, type Answer, type FakeQq } from './fake-qq.js';

const APP_ID = '102000000';
const servers: FakeQq[] = [];
const managers: AccessTokenManager[] = [];

afterEach(async () => {
  for (const tokens of managers.splice(0)) tokens.stop();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function fakeQq(): Promise<FakeQq> {
  const qq = await startFakeQq();
  servers.push(qq);
  return qq;
}

function senderFor(
  qq: { origin: string },
  options: { timeoutMs?: number; apiBase?: string; tokenUrl?: string } = {},
): { sender: QqSender; tokens: AccessTokenManager } {
  const tokens = new AccessTokenManager({
    tokenUrl: options.tokenUrl ?? `${qq.origin}${TOKEN_PATH}`,
    appId: APP_ID,
    clientSecret: 'secret',
    logger: silentLogger(),
    timeoutMs: 1000,
  });
  managers.push(tokens);
  const sender = new QqSender({
    apiBase: options.apiBase ?? qq.origin,
    appId: APP_ID,
    tokens,
    timeoutMs: options.timeoutMs ?? 2000,
  });
  return { sender, tokens };
}

function groupMessage(overrides: Partial<OutboundMessageJob> = {}): OutboundMessageJob {
  return {
    kind: 'message',
    id: 'ob_test',
    scene: 'group',
    openid: 'G1',
    body: { content: 'hi', msg_type: 0, msg_id: 'M1', msg_seq: 2 },
    source: 'api',
    enqueuedAt: Date.now(),
    ...overrides,
  };
}

const interaction: OutboundInteractionJob = {
  kind: 'interaction',
  id: 'ob_ack',
  interactionId: 'I/1',
  code: 0,
  source: 'reply',
  enqueuedAt: Date.now(),
};

describe('QqSender.send', () => {
  it('POSTs the stored body to the group route with the bot headers and returns QQ id and timestamp', async () => {
    const qq = await fakeQq();
    qq.answer((_req, res) => json(res, 200, { id: 'm-1', timestamp: 1_700_000_001 }));
    const { sender } = senderFor(qq);

    const result = await sender.send(groupMessage(), { attempt: 1 });

    expect(result).toMatchObject({
      attempt: 1,
      status: 200,
      outcome: 'sent',
      qqId: 'm-1',
      timestamp: 1_700_000_001,
      dispatched: true,
    });
    expect(result.duplicate).toBeUndefined();
    expect(result.errorCode).toBeUndefined();
    const [call] = qq.calls();
    expect(call).toMatchObject({ method: 'POST', url: '/v2/groups/G1/messages' });
    expect(JSON.parse(call!.body)).toEqual({ content: 'hi', msg_type: 0, msg_id: 'M1', msg_seq: 2 });
    expect(call!.headers).toMatchObject({
      authorization: 'QQBot tok-1',
      'x-union-appid': APP_ID,
      'content-type': 'application/json',
      'user-agent': USER_AGENT,
    });
  });

  it('sends C2C to the users route with the openid escaped and keeps an RFC 3339 timestamp as a string', async () => {
    const qq = await fakeQq();
    qq.answer((_req, res) => json(res, 200, { id: 'm-2', timestamp: '2025-03-13T23:30:49+08:00' }));
    const { sender } = senderFor(qq);

    const result = await sender.send(groupMessage({ scene: 'c2c', openid: 'U/1 x' }), { attempt: 1 });

    expect(qq.calls()[0]?.url).toBe('/v2/users/U%2F1%20x/messages');
    expect(result).toMatchObject({ outcome: 'sent', qqId: 'm-2', timestamp: '2025-03-13T23:30:49+08:00' });
  });

  it('acknowledges an interaction with PUT {"code":n}; an empty 2xx is sent', async () => {
    const qq = await fakeQq();
    qq.answer((_req, res) => {
      res.statusCode = 200;
      res.end();
    });
    const { sender } = senderFor(qq);

    const result = await sender.send({ ...interaction, code: 3 }, { attempt: 1 });

    expect(result).toMatchObject({ outcome: 'sent', status: 200 });
    expect(result.qqId).toBeUndefined();
    expect(result.body).toBeUndefined();
    const [call] = qq.calls();
    expect(call).toMatchObject({ method: 'PUT', url: '/interactions/I%2F1' });
    expect(JSON.parse(call!.body)).toEqual({ code: 3 });
  });

  it('retries a 5xx as HTTP_<status>, naming the QQ code it carried', async () => {
    const qq = await fakeQq();
    qq.answer((_req, res) => json(res, 503, { code: 500000, message: 'busy' }));
    const { sender } = senderFor(qq);

    const result = await sender.send(groupMessage(), { attempt: 1 });

    expect(result).toMatchObject({ outcome: 'retry', status: 503, errorCode: 'HTTP_503' });
    expect(result.error).toContain('QQ code 500000: busy');
  });

  it('retries a 429 with its Retry-After', async () => {
    const qq = await fakeQq();
    qq.answer((_req, res) =>
      json(res, 429, { code: 22009, message: 'msg limit exceed' }, { 'retry-after': '7' }),
    );
    const { sender } = senderFor(qq);

    const result = await sender.send(groupMessage(), { attempt: 1 });

    expect(result).toMatchObject({ outcome: 'retry', errorCode: 'HTTP_429', retryAfterMs: 7000 });
  });

  it('on HTTP 401 drops the token, fetches a new one and sends again within the attempt', async () => {
    const qq = await fakeQq();
    qq.answer((_req, res) => json(res, 401, { code: 11244, message: 'token not exist or expire' }));
    qq.answer((_req, res) => json(res, 200, { id: 'm-3', timestamp: 1 }));
    const { sender } = senderFor(qq);

    const result = await sender.send(groupMessage(), { attempt: 1 });

    expect(result).toMatchObject({ outcome: 'sent', qqId: 'm-3' });
    expect(qq.calls().map((c) => c.headers['authorization'])).toEqual(['QQBot tok-1', 'QQBot tok-2']);
    // the retried call carries the same body: same msg_seq
    expect(new Set(qq.calls().map((c) => c.body)).size).toBe(1);
  });

  it('retries a token error that outlives the refetch (HTTP 200 code 11242), and the next attempt fetches anew', async () => {
    const qq = await fakeQq();
    const refused: Answer = (_req, res) => json(res, 200, { code: 11242, message: 'token invalid' });
    qq.answer(refused, refused);
    const { sender } = senderFor(qq);

    const first = await sender.send(groupMessage(), { attempt: 1 });
    expect(first).toMatchObject({ outcome: 'retry', status: 200, errorCode: 'QQ_11242' });
    expect(qq.tokenRequests()).toBe(2);

    const second = await sender.send(groupMessage(), { attempt: 2 });
    expect(second.outcome).toBe('sent');
    expect(qq.tokenRequests()).toBe(3);
    expect(qq.calls().at(-1)?.headers['authorization']).toBe('QQBot tok-3');
  });

  it('retries 304018, the bot not being connected to the gateway', async () => {
    const qq = await fakeQq();
    qq.answer((_req, res) => json(res, 200, { code: 304018, message: 'SESSION_NOT_EXIST' }));
    const { sender } = senderFor(qq);

    expect(await sender.send(groupMessage(), { attempt: 1 })).toMatchObject({
      outcome: 'retry',
      errorCode: 'QQ_304018',
    });
  });

  it('fails a business error at once, keeping the message, QQ trace id and the answer body', async () => {
    const qq = await fakeQq();
    const answer = {
      message: '被动回复消息已过期',
      code: 40034005,
      err_code: 40034005,
      trace_id: 'body-trace',
    };
    qq.answer((_req, res) => json(res, 400, answer, { 'x-tps-trace-id': 'hdr-trace' }));
    const { sender } = senderFor(qq);

    const result = await sender.send(groupMessage(), { attempt: 1 });

    expect(result).toMatchObject({
      outcome: 'failed',
      status: 400,
      errorCode: 'QQ_40034005',
      traceId: 'hdr-trace',
      body: JSON.stringify(answer),
    });
    expect(result.error).toBe('QQ code 40034005: 被动回复消息已过期 (HTTP 400, trace hdr-trace)');
  });

  it('fails an HTTP 200 that carries a non-zero code', async () => {
    const qq = await fakeQq();
    qq.answer((_req, res) => json(res, 200, { code: 40054007, message: 'content too long' }));
    const { sender } = senderFor(qq);

    expect(await sender.send(groupMessage(), { attempt: 1 })).toMatchObject({
      outcome: 'failed',
      status: 200,
      errorCode: 'QQ_40054007',
    });
  });

  it('fails a redirect: it is not QQ answering', async () => {
    const qq = await fakeQq();
    qq.answer((_req, res) => {
      res.writeHead(302, { location: 'http://127.0.0.1:9/' });
      res.end();
    });
    const { sender } = senderFor(qq);

    expect(await sender.send(groupMessage(), { attempt: 1 })).toMatchObject({
      outcome: 'failed',
      errorCode: 'HTTP_302',
    });
  });

  describe('40054005 (msg_seq already used)', () => {
    const duplicate: Answer = (_req, res) =>
      json(res, 400, { code: 40054005, message: '消息被去重，请检查请求msgseq' });

    it('is a failure on the first attempt', async () => {
      const qq = await fakeQq();
      qq.answer(duplicate);
      const { sender } = senderFor(qq);
      expect(await sender.send(groupMessage(), { attempt: 1 })).toMatchObject({
        outcome: 'failed',
        errorCode: 'QQ_40054005',
      });
    });

    it('is sent, duplicate, on attempt 2: an earlier attempt reached QQ', async () => {
      const qq = await fakeQq();
      qq.answer(duplicate);
      const { sender } = senderFor(qq);
      const result = await sender.send(groupMessage(), { attempt: 2 });
      expect(result).toMatchObject({ outcome: 'sent', duplicate: true, status: 400 });
      expect(result.errorCode).toBeUndefined();
      expect(result.qqId).toBeUndefined();
    });

    it('is sent, duplicate, on attempt 1 of a job taken over mid-send (repeated)', async () => {
      const qq = await fakeQq();
      qq.answer(duplicate);
      const { sender } = senderFor(qq);
      expect(await sender.send(groupMessage(), { attempt: 1, repeated: true })).toMatchObject({
        outcome: 'sent',
        duplicate: true,
      });
    });

    it('is never a duplicate for an interaction acknowledgement', async () => {
      const qq = await fakeQq();
      qq.answer(duplicate);
      const { sender } = senderFor(qq);
      expect(await sender.send(interaction, { attempt: 2 })).toMatchObject({ outcome: 'failed' });
    });
  });

  it('retries a call that gets no complete answer within the time limit as ETIMEDOUT', async () => {
    const qq = await fakeQq();
    qq.answer(() => {
      // never answer
    });
    const { sender } = senderFor(qq, { timeoutMs: 200 });

    const result = await sender.send(groupMessage(), { attempt: 1 });

    expect(result).toMatchObject({ outcome: 'retry', errorCode: 'ETIMEDOUT', dispatched: true });
    expect(result.status).toBeUndefined();
  });

  it('retries a 200 whose body stops arriving: whether QQ took the message is unknown', async () => {
    const qq = await fakeQq();
    qq.answer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '200' });
      res.write('{"id":"m-');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const { sender } = senderFor(qq);

    const result = await sender.send(groupMessage(), { attempt: 1 });

    expect(result.outcome).toBe('retry');
    expect(result.status).toBe(200);
    expect(result.errorCode).toMatch(/^UND_ERR_|^ECONNRESET$/);
  });

  it('retries a refused connection with its code', async () => {
    const qq = await fakeQq();
    const { sender } = senderFor(qq, { apiBase: await closedOrigin() });

    expect(await sender.send(groupMessage(), { attempt: 1 })).toMatchObject({
      outcome: 'retry',
      errorCode: 'ECONNREFUSED',
    });
  });

  it('retries when no token can be had, marked as never having left the process', async () => {
    const qq = await fakeQq();
    const { sender } = senderFor(qq, { tokenUrl: `${await closedOrigin()}${TOKEN_PATH}` });

    const result = await sender.send(groupMessage(), { attempt: 1 });

    expect(result).toMatchObject({ outcome: 'retry', errorCode: 'BRIDGE_ERR_QQ_TOKEN', dispatched: false });
    expect(qq.calls()).toHaveLength(0);
  });

  it('an abort mid-call is a retry that may have reached QQ', async () => {
    const qq = await fakeQq();
    qq.answer(() => {
      // hang until aborted
    });
    const { sender } = senderFor(qq);
    const controller = new AbortController();
    const pending = sender.send(groupMessage(), { attempt: 1, signal: controller.signal });
    await waitUntil(() => qq.calls().length === 1);
    controller.abort();

    expect(await pending).toMatchObject({
      outcome: 'retry',
      errorCode: 'BRIDGE_ERR_ABORTED',
      dispatched: true,
    });
  });

  it('records only the first 1 KiB of the answer', async () => {
    const qq = await fakeQq();
    qq.answer((_req, res) => json(res, 500, 'x'.repeat(3000)));
    const { sender } = senderFor(qq);

    const result = await sender.send(groupMessage(), { attempt: 1 });

    expect(result.body).toHaveLength(1024);
  });
});

describe('QqSender.request', () => {
  it('makes an authorized call and returns QQ answer whatever its status', async () => {
    const qq = await fakeQq();
    qq.answer((_req, res) => json(res, 400, { code: 40034006, message: 'recall window passed' }));
    const { sender } = senderFor(qq);

    const response = await sender.request('DELETE', '/v2/groups/G1/messages/m-1');

    expect(response.status).toBe(400);
    expect(JSON.parse(response.body)).toEqual({ code: 40034006, message: 'recall window passed' });
    expect(response.headers['content-type']).toBe('application/json');
    const [call] = qq.calls();
    expect(call).toMatchObject({ method: 'DELETE', url: '/v2/groups/G1/messages/m-1', body: '' });
    expect(call!.headers['authorization']).toBe('QQBot tok-1');
    // no body, no content-type
    expect(call!.headers['content-type']).toBeUndefined();
  });

  it('shares the token retry: a 401 is answered by refetching the token and calling once more', async () => {
    const qq = await fakeQq();
    qq.answer((_req, res) => json(res, 401, { code: 11244, message: 'expired' }));
    qq.answer((_req, res) => json(res, 200, { ok: true }));
    const { sender } = senderFor(qq);

    const response = await sender.request('POST', '/v2/users/U1/files', { file_type: 1, url: 'x' });

    expect(response.status).toBe(200);
    expect(qq.calls().map((c) => c.headers['authorization'])).toEqual(['QQBot tok-1', 'QQBot tok-2']);
  });

  it('rejects with QqUnreachableError and a stable reason when nothing answers', async () => {
    const qq = await fakeQq();
    const { sender } = senderFor(qq, { apiBase: await closedOrigin() });

    const error = await sender.request('GET', '/users/@me').catch((err: unknown) => err);

    expect(error).toBeInstanceOf(QqUnreachableError);
    expect(error).toMatchObject({ code: 'BRIDGE_ERR_QQ_API', reason: 'ECONNREFUSED' });
  });
});

async function waitUntil(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
