/**
 * examples/python/receiver.py as a real process, fed real signed deliveries by the bridge's own WebhookDeliverer.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebhookDeliverer } from '../../src/delivery/deliver.js';
import { testTarget } from '../helpers/config.js';
import { eventually } from '../helpers/gateway.js';
import { startReceiver } from '../helpers/receiver.js';
import { emitAtMessage, GROUP, repliesAtQq, startExampleBridge, type ExampleBridge } from './bridge.js';

const RECEIVER_PY = fileURLToPath(new URL('../../examples/python/receiver.py', import.meta.url));
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

let child: ChildProcessWithoutNullStreams;
let stdout = '';
let url = '';
const deliverer = new WebhookDeliverer();

function envelope(id: string): string {
  return JSON.stringify({
    id,
    type: 'group.bot.added',
    qq_type: 'GROUP_ADD_ROBOT',
    data: {
      group_openid: 'C9F778FE6ADF9D1D1DBE395BF744A33A',
      operator_openid: 'E4F4AEA33253A2797FB897C50B81D7ED',
      timestamp: 1699240248,
    },
    v: 1,
  });
}

const lines = (prefix: string): string[] => stdout.split('\n').filter((line) => line.startsWith(prefix));

/** receiver.py as a process with `env` added; resolves once it listens, with its webhook URL. */
async function startReceiverPy(
  env: Record<string, string>,
  onStdout: (text: string) => void,
): Promise<{ child: ChildProcessWithoutNullStreams; url: string }> {
  const started = spawn('python3', [RECEIVER_PY, '--host', '127.0.0.1', '--port', '0'], {
    env: { ...process.env, WEBHOOK_SECRET: SECRET, PYTHONDONTWRITEBYTECODE: '1', ...env },
  });
  let output = '';
  started.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
    onStdout(chunk.toString('utf8'));
  });
  let stderr = '';
  started.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  await eventually(
    () => /listening on http:\/\/[\d.]+:\d+/.test(output) || started.exitCode !== null,
    'receiver.py',
  );
  const origin = /listening on (http:\/\/[\d.]+:\d+)/.exec(output)?.[1];
  if (origin === undefined) throw new Error(`receiver.py did not start:\n${output}${stderr}`);
  return { child: started, url: `${origin}/webhook` };
}

beforeAll(async () => {
  ({ child, url } = await startReceiverPy({}, (text) => (stdout += text)));
});

afterAll(async () => {
  await deliverer.close();
  child.kill('SIGTERM');
});

describe('examples/python/receiver.py', () => {
  it('accepts a valid delivery with 200 and processes it', async () => {
    const id = 'GROUP_ADD_ROBOT:valid-0001';
    const result = await deliverer.deliver(testTarget({ id: 'py', url, secrets: [SECRET] }), {
      eventId: id,
      body: envelope(id),
      attempt: 1,
    });
    expect(result.status).toBe(200);
    await eventually(() => lines(`event ${id} `).length === 1, 'the event line');
    expect(lines(`event ${id} `)[0]).toBe(`event ${id} group.bot.added C9F778FE6ADF9D1D1DBE395BF744A33A`);
  });

  it('answers a redelivery of the same webhook-id with 200 without processing it twice', async () => {
    const id = 'GROUP_ADD_ROBOT:duplicate-0002';
    const target = testTarget({ id: 'py', url, secrets: [SECRET] });
    const first = await deliverer.deliver(target, { eventId: id, body: envelope(id), attempt: 1 });
    const retry = await deliverer.deliver(target, { eventId: id, body: envelope(id), attempt: 2 });
    expect([first.status, retry.status]).toEqual([200, 200]);
    await eventually(() => lines(`duplicate ${id}`).length === 1, 'the duplicate line');
    expect(lines(`event ${id} `)).toHaveLength(1);
  });

  it('accepts a delivery signed with several secrets during a rotation', async () => {
    const id = 'GROUP_ADD_ROBOT:rotation-0003';
    const target = testTarget({ id: 'py', url, secrets: ['whsec_bmV3LXNlY3JldC1ub3QteWV0LWtub3du', SECRET] });
    expect((await deliverer.deliver(target, { eventId: id, body: envelope(id), attempt: 1 })).status).toBe(
      200,
    );
  });

  it('rejects a tampered body with 401 and does not process it', async () => {
    // A genuine delivery, captured, then replayed to receiver.py with one byte of the body changed.
    const capture = await startReceiver();
    try {
      const id = 'GROUP_ADD_ROBOT:tampered-0004';
      await deliverer.deliver(testTarget({ id: 'py', url: capture.url, secrets: [SECRET] }), {
        eventId: id,
        body: envelope(id),
        attempt: 1,
      });
      const [original] = await capture.waitFor(1);
      const headers = {
        'content-type': 'application/json',
        'webhook-id': String(original!.headers['webhook-id']),
        'webhook-timestamp': String(original!.headers['webhook-timestamp']),
        'webhook-signature': String(original!.headers['webhook-signature']),
      };
      const intact = await request(url, { method: 'POST', headers, body: original!.body });
      expect(intact.statusCode).toBe(200);
      await intact.body.dump();

      const tamperedId = 'GROUP_ADD_ROBOT:tampered-0005';
      await deliverer.deliver(testTarget({ id: 'py', url: capture.url, secrets: [SECRET] }), {
        eventId: tamperedId,
        body: envelope(tamperedId),
        attempt: 1,
      });
      const [, second] = await capture.waitFor(2);
      const tampered = await request(url, {
        method: 'POST',
        headers: {
          ...headers,
          'webhook-id': tamperedId,
          'webhook-timestamp': String(second!.headers['webhook-timestamp']),
          'webhook-signature': String(second!.headers['webhook-signature']),
        },
        body: second!.body.replace('1699240248', '1699240249'),
      });
      expect([400, 401]).toContain(tampered.statusCode);
      await tampered.body.dump();
      await eventually(() => lines(`rejected ${tamperedId}`).length === 1, 'the rejection line');
      expect(lines(`event ${tamperedId}`)).toEqual([]);
    } finally {
      await capture.close();
    }
  });

  it('rejects a delivery signed with another secret', async () => {
    const id = 'GROUP_ADD_ROBOT:wrong-secret-0006';
    const target = testTarget({ id: 'py', url, secrets: ['whsec_c29tZSBvdGhlciBzZWNyZXQ='] });
    const result = await deliverer.deliver(target, { eventId: id, body: envelope(id), attempt: 1 });
    expect(result.status).toBe(401);
    expect(lines(`event ${id}`)).toEqual([]);
  });

  it('rejects a stale webhook-timestamp (more than 5 minutes old) even with a valid signature', async () => {
    const id = 'GROUP_ADD_ROBOT:stale-0007';
    const stale = new WebhookDeliverer({ now: () => Date.now() - 6 * 60_000 });
    try {
      const result = await stale.deliver(testTarget({ id: 'py', url, secrets: [SECRET] }), {
        eventId: id,
        body: envelope(id),
        attempt: 1,
      });
      expect(result.status).toBe(401);
      await eventually(
        () => lines(`rejected ${id}: webhook-timestamp too far from now`).length === 1,
        'stale',
      );
      expect(lines(`event ${id}`)).toEqual([]);
    } finally {
      await stale.close();
    }
  });
});

describe('examples/python/receiver.py with REPLY=1', () => {
  let replying: ChildProcessWithoutNullStreams | undefined;
  let replyingUrl = '';
  let bridge: ExampleBridge | undefined;
  beforeAll(async () => {
    ({ child: replying, url: replyingUrl } = await startReceiverPy({ REPLY: '1' }, () => undefined));
  });
  afterAll(async () => {
    await bridge?.close();
    replying?.kill('SIGTERM');
  });

  it('answers an @-message with the documented {"reply"} body, and a redelivery with the same one', async () => {
    const id = 'GROUP_AT_MESSAGE_CREATE:reply-0008';
    const body = JSON.stringify({
      id,
      type: 'group.message.at',
      qq_type: 'GROUP_AT_MESSAGE_CREATE',
      data: { group_openid: GROUP, message: { id: 'ROBOT1.0_m1', content: ' 今天天气怎么样' } },
      v: 1,
    });
    const target = testTarget({ id: 'py', url: replyingUrl, secrets: [SECRET] });
    const first = await deliverer.deliver(target, { eventId: id, body, attempt: 1 });
    const again = await deliverer.deliver(target, { eventId: id, body, attempt: 2 });
    const reply = { reply: { content: 'echo: 今天天气怎么样', msg_type: 0 } };
    expect([first.status, again.status]).toEqual([200, 200]);
    expect(JSON.parse(first.answer?.text ?? '')).toEqual(reply);
    expect(JSON.parse(again.answer?.text ?? '')).toEqual(reply);

    const notice = 'GROUP_ADD_ROBOT:reply-0009';
    const plain = await deliverer.deliver(target, { eventId: notice, body: envelope(notice), attempt: 1 });
    expect(JSON.parse(plain.answer?.text ?? '')).toEqual({ status: 'ok' });
  });

  it('through a real bridge: its reply reaches QQ as a passive reply to the @-message', async () => {
    bridge = await startExampleBridge(replyingUrl);
    const msgId = emitAtMessage(bridge.sim, ' 今天天气怎么样');
    const [sent, ...more] = await repliesAtQq(bridge.sim, msgId);
    expect(more).toEqual([]);
    expect(sent).toMatchObject({ scene: 'group', openid: GROUP, outcome: 'delivered' });
    expect(sent!.body).toEqual({ content: 'echo: 今天天气怎么样', msg_type: 0, msg_id: msgId, msg_seq: 1 });
  });
});
