import { afterEach, describe, expect, it } from 'vitest';
import { WebhookDeliverer } from '../../src/delivery/deliver.js';
import { sampleReply, startSampleReceiver, type SampleReceiver } from '../../src/demo/receiver.js';
import { testTarget } from '../helpers/config.js';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

let receiver: SampleReceiver | undefined;
let deliverer: WebhookDeliverer | undefined;
afterEach(async () => {
  await deliverer?.close();
  await receiver?.close();
  receiver = undefined;
  deliverer = undefined;
});

const envelope = JSON.stringify({
  id: 'GROUP_ADD_ROBOT:39ab91b8',
  type: 'group.bot.added',
  data: {
    group_openid: 'C9F778FE6ADF9D1D1DBE395BF744A33A',
    operator_openid: 'E4F4AEA33253A2797FB897C50B81D7ED',
  },
});

describe('the demo sample receiver', () => {
  it('verifies real deliveries, prints each event once and answers retries without printing again', async () => {
    const lines: string[] = [];
    receiver = await startSampleReceiver({ secrets: [SECRET], print: (line) => lines.push(line) });
    deliverer = new WebhookDeliverer();
    const target = testTarget({ id: 'demo', url: receiver.url, secrets: [SECRET] });
    const input = { eventId: 'GROUP_ADD_ROBOT:39ab91b8', body: envelope, attempt: 1 };
    expect((await deliverer.deliver(target, input)).status).toBe(204);
    expect((await deliverer.deliver(target, { ...input, attempt: 2 })).status).toBe(204);
    expect([...receiver.verified]).toEqual(['GROUP_ADD_ROBOT:39ab91b8']);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^✓ group\.bot\.added .* group=C9F7… operator=E4F4…$/);
  });

  it('answers an @-message with {"reply"}, a retry with the same reply, and other events with an empty 204', async () => {
    receiver = await startSampleReceiver({ secrets: [SECRET], print: () => undefined });
    deliverer = new WebhookDeliverer();
    const target = testTarget({ id: 'demo', url: receiver.url, secrets: [SECRET] });
    const at = JSON.stringify({
      id: 'GROUP_AT_MESSAGE_CREATE:1',
      type: 'group.message.at',
      data: {
        group_openid: 'C9F778FE6ADF9D1D1DBE395BF744A33A',
        message: { id: 'M1', content: ' 今天天气怎么样' },
      },
    });
    const input = { eventId: 'GROUP_AT_MESSAGE_CREATE:1', body: at, attempt: 1 };
    const first = await deliverer.deliver(target, input);
    const retry = await deliverer.deliver(target, { ...input, attempt: 2 });
    const reply = { reply: { content: 'echo: 今天天气怎么样', msg_type: 0 } };
    expect([first.status, retry.status]).toEqual([200, 200]);
    expect(JSON.parse(first.answer?.text ?? '')).toEqual(reply);
    expect(JSON.parse(retry.answer?.text ?? '')).toEqual(reply);
    expect(sampleReply(JSON.parse(envelope) as Record<string, unknown>)).toBeUndefined();
    expect(sampleReply({ type: 'group.message.at', data: { message: { content: 42 } } })).toEqual({
      reply: { content: 'echo: ', msg_type: 0 },
    });
  });

  it('refuses a delivery signed with another secret, with 401 and a ✗ line', async () => {
    const lines: string[] = [];
    receiver = await startSampleReceiver({ secrets: [SECRET], print: (line) => lines.push(line) });
    deliverer = new WebhookDeliverer();
    const target = testTarget({ id: 'demo', url: receiver.url, secrets: ['whsec_c29tZSBvdGhlciBzZWNyZXQ='] });
    const result = await deliverer.deliver(target, { eventId: 'X:1', body: envelope, attempt: 1 });
    expect(result.status).toBe(401);
    expect(receiver.verified.size).toBe(0);
    expect(receiver.rejected()).toBe(1);
    expect(lines).toEqual(['✗ refused X:1: no matching signature']);
  });

  it('refuses the event type it has no handler for with 422 and a body saying why, printing nothing', async () => {
    const lines: string[] = [];
    receiver = await startSampleReceiver({ secrets: [SECRET], print: (line) => lines.push(line) });
    deliverer = new WebhookDeliverer();
    const target = testTarget({ id: 'demo', url: receiver.url, secrets: [SECRET] });
    const unknown = JSON.stringify({
      id: 'SUBSCRIBE_MESSAGE_STATUS:1',
      type: 'qq.unknown',
      qq_type: 'SUBSCRIBE_MESSAGE_STATUS',
      data: {},
    });
    const result = await deliverer.deliver(target, {
      eventId: 'SUBSCRIBE_MESSAGE_STATUS:1',
      body: unknown,
      attempt: 1,
    });
    expect(result.status).toBe(422);
    expect(JSON.parse(result.body ?? '')).toEqual({
      error: 'unsupported_event_type',
      detail:
        'this sample receiver has no handler for qq.unknown (SUBSCRIBE_MESSAGE_STATUS) and refuses it for ' +
        'good, so the demo leaves one dead letter to inspect',
    });
    expect([...receiver.verified]).toEqual(['SUBSCRIBE_MESSAGE_STATUS:1']);
    expect([...receiver.refused]).toEqual(['SUBSCRIBE_MESSAGE_STATUS:1']);
    expect(receiver.rejected()).toBe(0);
    expect(lines).toEqual([]);
  });
});
