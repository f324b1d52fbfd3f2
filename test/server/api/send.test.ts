import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { OutboundMessageJob } from '../../../src/outbound/message.js';
import { startSimulator, type Simulator } from '../../../src/simulator/index.js';
import { GROUP, USER, startApi, type ApiHarness } from './harness.js';

let sim: Simulator;
let api: ApiHarness;

beforeAll(async () => {
  sim = await startSimulator();
});
afterAll(() => sim.close());
beforeEach(async () => {
  api = await startApi(sim);
});
afterEach(() => api.close());

const GROUP_SEND = `/v1/groups/${GROUP}/messages`;
const USER_SEND = `/v1/users/${USER}/messages`;
const HELLO = { content: 'hello', msg_type: 0 };

interface Queued {
  id: string;
  status: string;
}

async function jobData(id: string): Promise<OutboundMessageJob> {
  const job = await api.queue.getJob(id);
  expect(job).toBeDefined();
  return job!.data as OutboundMessageJob;
}

describe('POST /v1/…/messages', () => {
  it('stores a group message and answers 202 with its id, where GET reads it as queued', async () => {
    const res = await api.call('POST', GROUP_SEND, { body: HELLO });
    expect(res.status).toBe(202);
    const { id, status } = res.json() as unknown as Queued;
    expect(status).toBe('queued');
    expect(id).toMatch(/^ob_[0-9a-f]{32}$/);
    expect(res.headers['location']).toBe(`/v1/messages/${id}`);
    expect(await jobData(id)).toMatchObject({
      kind: 'message',
      scene: 'group',
      openid: GROUP,
      body: HELLO,
      source: 'api',
    });

    const read = await api.call('GET', `/v1/messages/${id}`);
    expect(read.status).toBe(200);
    expect(read.json()).toEqual({ id, status: 'queued', attempts: 0 });
  });

  it('stores a user message for the C2C scene', async () => {
    const res = await api.call('POST', USER_SEND, { body: HELLO });
    expect(res.status).toBe(202);
    expect(await jobData((res.json() as unknown as Queued).id)).toMatchObject({ scene: 'c2c', openid: USER });
  });

  it('reads a sent message back with QQ’s answer and a failed one with its reason', async () => {
    const sent = (await api.call('POST', GROUP_SEND, { body: HELLO })).json() as unknown as Queued;
    await api.finishJobs('sent');
    const failedId = ((await api.call('POST', USER_SEND, { body: HELLO })).json() as unknown as Queued).id;
    await api.finishJobs('failed');
    expect((await api.call('GET', `/v1/messages/${sent.id}`)).json()).toEqual({
      id: sent.id,
      status: 'sent',
      attempts: 1,
      qq: { id: `QQ-${sent.id}`, timestamp: 1_700_000_000 },
    });
    expect((await api.call('GET', `/v1/messages/${failedId}`)).json()).toEqual({
      id: failedId,
      status: 'failed',
      attempts: 1,
      error: { code: 'QQ_40034005', message: 'the reply window has passed' },
    });
  });
});

describe('Idempotency-Key', () => {
  it('answers the same key with the same id and stores one message', async () => {
    const headers = { 'idempotency-key': 'order-42' };
    const first = await api.call('POST', GROUP_SEND, { body: HELLO, headers });
    // The same body with its keys in another order is the same message.
    const again = await api.call('POST', GROUP_SEND, { body: { msg_type: 0, content: 'hello' }, headers });
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(again.json()).toEqual(first.json());
    expect(await api.queue.getJobCounts('waiting')).toEqual({ waiting: 1 });
    expect(await jobData((first.json() as unknown as Queued).id)).toMatchObject({
      idempotencyKey: 'order-42',
    });
  });

  it('answers a repeated key of a message that was sent with its final status, 200', async () => {
    const headers = { 'idempotency-key': 'order-43' };
    const { id } = (await api.call('POST', GROUP_SEND, { body: HELLO, headers })).json() as unknown as Queued;
    await api.finishJobs('sent');
    const again = await api.call('POST', GROUP_SEND, { body: HELLO, headers });
    expect(again.status).toBe(200);
    expect(again.json()).toMatchObject({ id, status: 'sent' });
    expect(await api.queue.getJobCounts('waiting', 'completed')).toEqual({ waiting: 0, completed: 1 });
  });

  it.each([
    ['another body', GROUP_SEND, { content: 'goodbye', msg_type: 0 }],
    ['another group', `/v1/groups/OTHER${GROUP}/messages`, HELLO],
    ['the same openid as a user', `/v1/users/${GROUP}/messages`, HELLO],
  ])('refuses a key reused with %s: 422, nothing stored', async (_label, path, body) => {
    const headers = { 'idempotency-key': 'order-44' };
    expect((await api.call('POST', GROUP_SEND, { body: HELLO, headers })).status).toBe(202);
    const reused = await api.call('POST', path, { body, headers });
    expect(reused.status).toBe(422);
    expect(reused.json()).toMatchObject({
      error: { code: 'idempotency_key_reused', field: 'Idempotency-Key' },
    });
    expect(await api.queue.getJobCounts('waiting')).toEqual({ waiting: 1 });
  });
});

describe('?wait', () => {
  it('answers 200 with the sent status once a worker sends the message within the wait', async () => {
    const pending = api.call('POST', `${GROUP_SEND}?wait=20s`, { body: HELLO });
    await eventuallyQueued(1);
    await api.finishJobs('sent');
    const res = await pending;
    expect(res.status).toBe(200);
    const id = (res.json() as unknown as Queued).id;
    expect(res.json()).toEqual({
      id,
      status: 'sent',
      attempts: 1,
      qq: { id: `QQ-${id}`, timestamp: 1_700_000_000 },
    });
    expect(res.headers['location']).toBe(`/v1/messages/${id}`);
  });

  it('answers 200 with the failed status and its reason when the send fails within the wait', async () => {
    const pending = api.call('POST', `${USER_SEND}?wait=20s`, { body: HELLO });
    await eventuallyQueued(1);
    await api.finishJobs('failed');
    const res = await pending;
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ status: 'failed', error: { code: 'QQ_40034005' } });
  });

  it('answers 202 queued when the wait ends first', async () => {
    const res = await api.call('POST', `${GROUP_SEND}?wait=300ms`, { body: HELLO });
    expect(res.status).toBe(202);
    expect(res.json()).toMatchObject({ status: 'queued' });
  });

  it('answers a waiting request at once when the API closes', async () => {
    const pending = api.call('POST', `${GROUP_SEND}?wait=30s`, { body: HELLO });
    await eventuallyQueued(1);
    await api.api.close();
    const res = await pending;
    expect(res.status).toBe(202);
  });
});

describe('the reply limit', () => {
  it('refuses a sixth reply to one msg_id with 409 reply_limit and stores nothing for it', async () => {
    const reply = { content: 'pong', msg_type: 0, msg_id: 'ROBOT1.0_inbound' };
    for (let n = 1; n <= 5; n++) {
      const res = await api.call('POST', GROUP_SEND, { body: reply });
      expect(res.status).toBe(202);
      expect((await jobData((res.json() as unknown as Queued).id)).body['msg_seq']).toBe(n);
    }
    const sixth = await api.call('POST', GROUP_SEND, { body: reply });
    expect(sixth.status).toBe(409);
    const { error } = sixth.json() as { error: { code: string; field: string; message: string } };
    expect(error).toMatchObject({ code: 'reply_limit', field: 'msg_id' });
    expect(error.message).toContain('ROBOT1.0_inbound');
    expect(await api.queue.getJobCounts('waiting')).toEqual({ waiting: 5 });
  });
});

async function eventuallyQueued(count: number): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if ((await api.queue.getJobCountByTypes('waiting')) >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`no ${count} queued message(s) after 500 polls`);
}
