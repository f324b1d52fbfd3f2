/**
 * Callback mode (`simulate --webhook-url`): op 13 at start, then every `POST /_sim/emit` delivered as a signed
 * callback instead of over the WebSocket, answered with how the callback ended.
 */
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
import { recordingLogger, type LogLine } from '../helpers/rotation.js';
import { startReceiver, type ReceivedRequest, type Receiver, type Responder } from '../helpers/receiver.js';

const SECRET = 'simulator-secret';
const ACK = { status: 200, body: '{"op":12,"d":0}' };
const EVENT = {
  t: 'GROUP_ADD_ROBOT',
  d: { group_openid: 'G', op_member_openid: 'M', timestamp: 1699240248 },
};

let sim: Simulator | undefined;
const receivers: Receiver[] = [];

afterEach(async () => {
  await sim?.close();
  sim = undefined;
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

/** Answers op 13 as a bridge holding `secret` does, and every callback as `respond` says. */
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

function ops(r: Receiver): number[] {
  return r.requests.map((req) => (JSON.parse(req.body) as { op: number }).op);
}

async function emit(body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${sim!.origin}/_sim/emit`, { method: 'POST', body: JSON.stringify(body) });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

function messages(lines: LogLine[]): string[] {
  return lines.map((line) => line.msg);
}

function verifies(req: ReceivedRequest, secret = SECRET): boolean {
  const message = callbackMessage(req.headers['x-signature-timestamp'] as string, Buffer.from(req.body));
  return verifyHex(
    deriveCallbackKeys(secret).publicKey,
    message,
    req.headers['x-signature-ed25519'] as string,
  );
}

describe('simulator callback mode (option webhook)', () => {
  it('validates the URL with op 13 at start and logs it', async () => {
    const r = await receiver(bot(() => ACK));
    const { logger, lines } = recordingLogger();
    sim = await startSimulator({ logger, webhook: { url: r.url } });
    expect(ops(r)).toEqual([13]);
    expect(messages(lines)).toContain('callback URL validated (op 13)');
  });

  it('delivers POST /_sim/emit as a signed op-0 callback, not over the WebSocket, and answers 200 with its outcome', async () => {
    const r = await receiver(bot(() => ACK));
    sim = await startSimulator({ webhook: { url: r.url } });
    const answer = await emit({ ...EVENT, id: 'GROUP_ADD_ROBOT:1' });
    expect(answer).toEqual({
      status: 200,
      json: { id: 'GROUP_ADD_ROBOT:1', callback: { url: r.url, acked: true, attempts: 1, status: 200 } },
    });
    const callback = r.requests[1]!;
    expect(JSON.parse(callback.body)).toEqual({ op: 0, id: 'GROUP_ADD_ROBOT:1', ...EVENT });
    expect(verifies(callback)).toBe(true);
    // Not dispatched to a socket, nor kept for the shard's next READY.
    expect(sim.state()).toMatchObject({ dispatched: 0, pending: 0 });
  });

  it('signs with webhook.secret when given', async () => {
    const r = await receiver(bot(() => ACK, 'another-bot-secret'));
    sim = await startSimulator({ webhook: { url: r.url, secret: 'another-bot-secret' } });
    expect((await emit(EVENT)).status).toBe(200);
    expect(verifies(r.requests[1]!, 'another-bot-secret')).toBe(true);
  });

  it('answers 502 saying why when op 13 is answered with a signature of another secret, and sends nothing', async () => {
    const r = await receiver(bot(() => ACK, 'not-the-simulator-secret'));
    const { logger, lines } = recordingLogger();
    sim = await startSimulator({ logger, webhook: { url: r.url } });
    const failure = lines.find((line) => line.msg.startsWith('callback URL validation (op 13) failed'));
    expect(failure?.['error']).toContain(
      "the bridge's qq.client_secret is not the secret the simulator signs",
    );
    const answer = await emit(EVENT);
    expect(answer.status).toBe(502);
    expect(answer.json['error']).toMatch(/^the event was not sent: callback URL validation of .* failed: /);
    expect(answer.json['error']).toContain('qq.client_secret');
    expect(ops(r)).toEqual([13, 13]);
  });

  it('answers 502 with the reason when the URL is unreachable, and keeps running', async () => {
    const r = await receiver(bot(() => ACK));
    const url = r.url;
    await r.close();
    sim = await startSimulator({ webhook: { url } });
    const answer = await emit(EVENT);
    expect(answer.status).toBe(502);
    expect(answer.json['error']).toContain('ECONNREFUSED');
    expect(answer.json['error']).toContain('is the bridge running with qq.mode: webhook at this URL?');
    expect((await fetch(`${sim.origin}/_sim/state`)).status).toBe(200);
  });

  it('validates again on the next emit after a failed op 13, then delivers (a bridge started after the simulator)', async () => {
    let bridgeUp = false;
    const up = bot(() => ACK);
    const r = await receiver((req, index) => (bridgeUp ? up(req, index) : { status: 404 }));
    sim = await startSimulator({ webhook: { url: r.url } });
    const early = await emit(EVENT);
    expect(early.status).toBe(502);
    expect(early.json['error']).toContain("HTTP 404: the URL's path is not the bridge's qq.webhook.path");
    bridgeUp = true;
    const later = await emit(EVENT);
    expect(later.status).toBe(200);
    expect(ops(r)).toEqual([13, 13, 13, 0]);
  });

  it("answers 502 with the callback's status when the bridge never acknowledges it", async () => {
    const r = await receiver(bot(() => ({ status: 503, body: '{"error":"not_accepted"}' })));
    const { logger, lines } = recordingLogger();
    sim = await startSimulator({ logger, webhook: { url: r.url, attempts: 2, retryBaseMs: 5 } });
    const answer = await emit({ ...EVENT, id: 'GROUP_ADD_ROBOT:2' });
    expect(answer).toEqual({
      status: 502,
      json: {
        error: `callback to ${r.url} not acknowledged with op 12 after 2 attempt(s): HTTP 503, not an op-12 ACK`,
        id: 'GROUP_ADD_ROBOT:2',
        callback: { url: r.url, acked: false, attempts: 2, status: 503 },
      },
    });
    expect(messages(lines)).toContain('callback given up');
  });

  it('answers 502 with status null when the bridge went away after validating', async () => {
    const r = await receiver(bot(() => ACK));
    sim = await startSimulator({ webhook: { url: r.url, attempts: 1 } });
    await r.close();
    const answer = await emit(EVENT);
    expect(answer.status).toBe(502);
    expect(answer.json['callback']).toEqual({ url: r.url, acked: false, attempts: 1, status: null });
  });

  it('offers emitCallback from TypeScript, and refuses emit and startWebhookPush, which would bypass it', async () => {
    const r = await receiver(bot(() => ACK));
    sim = await startSimulator({ webhook: { url: r.url } });
    const result = await sim.emitCallback(EVENT.t, EVENT.d, { id: 'GROUP_ADD_ROBOT:3' });
    expect(result).toMatchObject({ sent: true, id: 'GROUP_ADD_ROBOT:3', callback: { acked: true } });
    expect(() => sim!.emit(EVENT.t, EVENT.d)).toThrow(/callback mode/);
    const push = await sim.startWebhookPush(r.url).catch((err: unknown) => err);
    expect(isBridgeError(push, 'BRIDGE_ERR_USAGE')).toBe(true);
  });

  it('refuses a webhook URL that is not http(s)', async () => {
    const failure = await startSimulator({ webhook: { url: 'ftp://127.0.0.1/qq' } }).catch(
      (err: unknown) => err,
    );
    expect(isBridgeError(failure, 'BRIDGE_ERR_USAGE')).toBe(true);
    expect((failure as Error).message).toContain('webhook.url must be an http:// or https:// URL');
  });
});
