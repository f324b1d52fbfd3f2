import { afterEach, describe, expect, it } from 'vitest';
import { isBridgeError } from '../../src/errors.js';
import {
  callbackMessage,
  deriveCallbackKeys,
  signHex,
  validationMessage,
  verifyHex,
} from '../../src/ingress/ed25519.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { startReceiver, type ReceivedRequest, type Receiver, type Responder } from '../helpers/receiver.js';

const SECRET = 'simulator-secret';
const KEYS = deriveCallbackKeys(SECRET);
const ACK = { status: 200, body: '{"op":12,"d":0}' };

let sim: Simulator | undefined;
const receivers: Receiver[] = [];

afterEach(async () => {
  await sim?.close();
  sim = undefined;
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

/** Answers op 13 as a correct bot would (signed with `secret`), and everything else as `respond` says. */
function bot(respond: Responder, secret = SECRET): Responder {
  const { privateKey } = deriveCallbackKeys(secret);
  return (req, index) => {
    const body = JSON.parse(req.body) as { op: number; d: { plain_token: string; event_ts: string } };
    if (body.op !== 13) return respond(req, index);
    const signature = signHex(privateKey, validationMessage(body.d.event_ts, body.d.plain_token));
    return { status: 200, body: JSON.stringify({ plain_token: body.d.plain_token, signature }) };
  };
}

async function receiver(respond: Responder): Promise<Receiver> {
  const r = await startReceiver(respond);
  receivers.push(r);
  return r;
}

function callbacks(r: Receiver): ReceivedRequest[] {
  return r.requests.filter((req) => (JSON.parse(req.body) as { op: number }).op !== 13);
}

describe('startWebhookPush', () => {
  it('validates the URL with an unsigned op 13, as the QQ console does', async () => {
    const r = await receiver(bot(() => ACK));
    sim = await startSimulator();
    await sim.startWebhookPush(r.url);
    expect(r.requests).toHaveLength(1);
    const [validation] = r.requests;
    const body = JSON.parse(validation!.body);
    expect(body).toEqual({
      op: 13,
      d: { plain_token: expect.stringMatching(/^[A-Za-z0-9]{20}$/), event_ts: expect.any(String) },
    });
    expect(validation!.headers).toMatchObject({ 'user-agent': 'QQBot-Callback', 'x-bot-appid': '102000000' });
    expect(validation!.headers).not.toHaveProperty('x-signature-ed25519');
  });

  it.each([
    ['a signature made with another secret', bot(() => ACK, 'another-secret')],
    ['another plain_token', () => ({ status: 200, body: '{"plain_token":"x","signature":"00"}' })],
    ['HTTP 404', () => ({ status: 404 })],
  ])('refuses a URL whose bot answers op 13 with %s, and pushes nothing', async (_name, respond) => {
    const r = await receiver(respond);
    sim = await startSimulator();
    const failure = await sim.startWebhookPush(r.url).catch((err: unknown) => err);
    expect(isBridgeError(failure, 'BRIDGE_ERR_USAGE')).toBe(true);
    sim.emit('GROUP_ADD_ROBOT', { group_openid: 'G' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(r.requests).toHaveLength(1);
  });

  it('POSTs each emit as a signed op-0 callback without s, with the headers of docs/qq-protocol.md §6.1', async () => {
    const r = await receiver(bot(() => ACK));
    sim = await startSimulator();
    const push = await sim.startWebhookPush(r.url);
    const { id } = sim.emit('GROUP_ADD_ROBOT', { group_openid: 'G', op_member_openid: 'M', timestamp: 1 });
    await push.idle();
    const [callback] = callbacks(r);
    expect(JSON.parse(callback!.body)).toEqual({
      op: 0,
      id,
      t: 'GROUP_ADD_ROBOT',
      d: { group_openid: 'G', op_member_openid: 'M', timestamp: 1 },
    });
    const headers = callback!.headers;
    expect(headers).toMatchObject({
      'user-agent': 'QQBot-Callback',
      'x-bot-appid': '102000000',
      'x-signature-method': 'Ed25519',
      'content-type': 'application/json',
      'x-tps-trace-id': expect.stringMatching(/^[0-9a-f]{32}$/),
    });
    const timestamp = headers['x-signature-timestamp'] as string;
    expect(Math.abs(Number(timestamp) - Date.now() / 1000)).toBeLessThan(5);
    const message = callbackMessage(timestamp, Buffer.from(callback!.body));
    expect(verifyHex(KEYS.publicKey, message, headers['x-signature-ed25519'] as string)).toBe(true);
    expect(push.stats()).toEqual({ posted: 2, acked: 1, retries: 0, failed: 0, inFlight: 0 });
  });

  it('pushes events emitted through POST /_sim/emit too', async () => {
    const r = await receiver(bot(() => ACK));
    sim = await startSimulator();
    const push = await sim.startWebhookPush(r.url);
    await fetch(`${sim.origin}/_sim/emit`, {
      method: 'POST',
      body: JSON.stringify({ t: 'FRIEND_ADD', d: { openid: 'U', timestamp: 1 }, id: 'FRIEND_ADD:1' }),
    });
    await push.idle();
    expect(callbacks(r).map((req) => (JSON.parse(req.body) as { id: string }).id)).toEqual(['FRIEND_ADD:1']);
  });

  it.each([
    ['HTTP 503', { status: 503, body: '{"error":"not_accepted"}' }],
    ['200 with op 12 d 1 (botgo: "retry me")', { status: 200, body: '{"op":12,"d":1}' }],
    ['200 without op 12', { status: 200, body: 'ok' }],
  ])('retries a callback answered %s, re-signed, until it gets op 12', async (_name, failure) => {
    const r = await receiver(bot((_req, index) => (index < 3 ? failure : ACK)));
    sim = await startSimulator();
    const push = await sim.startWebhookPush(r.url, { retryBaseMs: 10 });
    sim.emit('GROUP_DEL_ROBOT', { group_openid: 'G' }, { id: 'GROUP_DEL_ROBOT:1' });
    await push.idle();
    const attempts = callbacks(r);
    expect(attempts).toHaveLength(3);
    expect(new Set(attempts.map((req) => req.body)).size).toBe(1);
    for (const req of attempts) {
      const message = callbackMessage(req.headers['x-signature-timestamp'] as string, Buffer.from(req.body));
      expect(verifyHex(KEYS.publicKey, message, req.headers['x-signature-ed25519'] as string)).toBe(true);
    }
    expect(push.stats()).toMatchObject({ acked: 1, retries: 2, failed: 0 });
  });

  it('gives a callback up after the configured attempts', async () => {
    const r = await receiver(bot(() => ({ status: 500 })));
    sim = await startSimulator();
    const push = await sim.startWebhookPush(r.url, { attempts: 3, retryBaseMs: 5 });
    sim.emit('GROUP_MSG_REJECT', { group_openid: 'G' });
    await push.idle();
    expect(callbacks(r)).toHaveLength(3);
    expect(push.stats()).toMatchObject({ acked: 0, retries: 2, failed: 1, inFlight: 0 });
  });

  it('stops retrying when the simulator closes', async () => {
    const r = await receiver(bot(() => ({ status: 500 })));
    sim = await startSimulator();
    const push = await sim.startWebhookPush(r.url, { attempts: 100, retryBaseMs: 1000 });
    sim.emit('GROUP_MSG_REJECT', { group_openid: 'G' });
    await r.waitFor(2);
    const started = Date.now();
    await sim.close();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(push.stats().inFlight).toBe(0);
  });

  it('signs with the secret given instead of the client secret', async () => {
    const r = await receiver(bot(() => ACK, 'bot-secret-2'));
    sim = await startSimulator();
    const push = await sim.startWebhookPush(r.url, { secret: 'bot-secret-2' });
    sim.emit('GROUP_ADD_ROBOT', { group_openid: 'G' });
    await push.idle();
    const [callback] = callbacks(r);
    const message = callbackMessage(
      callback!.headers['x-signature-timestamp'] as string,
      Buffer.from(callback!.body),
    );
    const { publicKey } = deriveCallbackKeys('bot-secret-2');
    expect(verifyHex(publicKey, message, callback!.headers['x-signature-ed25519'] as string)).toBe(true);
  });
});
