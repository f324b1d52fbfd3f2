import { afterEach, describe, expect, it } from 'vitest';
import { WebhookDeliverer } from '../../src/delivery/deliver.js';
import { startSampleReceiver, type SampleReceiver } from '../../src/demo/receiver.js';
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
});
