import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MAX_MESSAGE_BODY_BYTES } from '../../../src/server/api/send-message.js';
import { startSimulator, type Simulator } from '../../../src/simulator/index.js';
import { GROUP, USER, startApi, type ApiHarness } from './harness.js';

let sim: Simulator;
let api: ApiHarness;

beforeAll(async () => {
  sim = await startSimulator();
  api = await startApi(sim);
});
// A case that wrongly stores a message must not make the next case fail too.
afterEach(() => api.queue.obliterate({ force: true }));
afterAll(async () => {
  await api.close();
  await sim.close();
});

const SEND = `/v1/groups/${GROUP}/messages`;
const OK = { content: 'hello', msg_type: 0 };

async function expectRefused(
  res: Awaited<ReturnType<ApiHarness['call']>>,
  field: string,
  status = 400,
): Promise<void> {
  expect(res.status).toBe(status);
  const { error } = res.json() as { error: { code: string; field: string; message: string } };
  expect(error.field).toBe(field);
  // The message names the field, so the caller can fix it from the text alone.
  expect(error.message.toLowerCase()).toContain(field.toLowerCase().replace(/^body$/, ''));
  expect(await api.queue.getJobCounts('waiting')).toEqual({ waiting: 0 });
}

describe('send API: bodies it refuses, each naming the field', () => {
  it.each<[string, unknown, string]>([
    ['an array', [OK], 'body'],
    ['a string', 'hello', 'body'],
    ['null', null, 'body'],
    ['content as a number', { content: 5, msg_type: 0 }, 'content'],
    ['msg_type out of range', { content: 'x', msg_type: 8 }, 'msg_type'],
    ['msg_type negative', { content: 'x', msg_type: -1 }, 'msg_type'],
    ['msg_type a fraction', { content: 'x', msg_type: 1.5 }, 'msg_type'],
    ['msg_type a string', { content: 'x', msg_type: '0' }, 'msg_type'],
    ['markdown a string', { markdown: '# hi', msg_type: 2 }, 'markdown'],
    ['keyboard an array', { content: 'x', keyboard: [] }, 'keyboard'],
    ['ark null', { content: 'x', ark: null }, 'ark'],
    ['media a number', { content: ' ', media: 1, msg_type: 7 }, 'media'],
    ['message_reference a string', { content: 'x', message_reference: 'REFIDX_1' }, 'message_reference'],
    ['msg_id a number', { content: 'x', msg_id: 5 }, 'msg_id'],
    ['msg_id empty', { content: 'x', msg_id: '' }, 'msg_id'],
    ['event_id a number', { content: 'x', event_id: 7 }, 'event_id'],
    ['msg_seq zero', { content: 'x', msg_id: 'M', msg_seq: 0 }, 'msg_seq'],
    ['msg_seq a fraction', { content: 'x', msg_id: 'M', msg_seq: 1.5 }, 'msg_seq'],
    ['msg_seq a string', { content: 'x', msg_id: 'M', msg_seq: '1' }, 'msg_seq'],
    ['nothing to send', { msg_type: 0, msg_id: 'M' }, 'body'],
  ])('refuses %s', async (_label, body, field) => {
    await expectRefused(await api.call('POST', SEND, { body }), field);
  });

  it('refuses a body that is not JSON, and an empty one', async () => {
    await expectRefused(await api.call('POST', SEND, { raw: '{"content": "hi"' }), 'body');
    await expectRefused(await api.call('POST', SEND, { raw: '' }), 'body');
  });

  it('refuses a body over 64 KiB with 413 and closes the connection', async () => {
    const body = { content: 'x'.repeat(MAX_MESSAGE_BODY_BYTES), msg_type: 0 };
    const res = await api.call('POST', SEND, { body });
    expect(res.status).toBe(413);
    expect(res.headers['connection']).toBe('close');
    expect(res.json()).toMatchObject({ error: { code: 'payload_too_large', field: 'body' } });
  });

  it('passes fields it does not know on unchanged', async () => {
    const res = await api.call('POST', SEND, { body: { ...OK, stream: { state: 1 }, timestamp: 1 } });
    expect(res.status).toBe(202);
    const job = await api.queue.getJob((res.json() as { id: string }).id);
    expect(job?.data).toMatchObject({ body: { ...OK, stream: { state: 1 }, timestamp: 1 } });
  });
});

describe('send API: headers, parameters and paths it refuses', () => {
  it.each([
    ['too long', 'k'.repeat(256)],
    ['with a space', 'two words'],
    ['with a non-ASCII character', 'clé'],
  ])('refuses an Idempotency-Key %s', async (_label, key) => {
    const res = await api.call('POST', SEND, { body: OK, headers: { 'idempotency-key': key } });
    await expectRefused(res, 'Idempotency-Key');
  });

  it('accepts an Idempotency-Key of exactly 255 visible characters', async () => {
    const res = await api.call('POST', SEND, { body: OK, headers: { 'idempotency-key': '~'.repeat(255) } });
    expect(res.status).toBe(202);
  });

  it.each(['soon', '31s', '1m', '-1s', '5s&wait=6s'])('refuses wait=%s', async (wait) => {
    await expectRefused(await api.call('POST', `${SEND}?wait=${wait}`, { body: OK }), 'wait');
  });

  it.each<[string, string, string]>([
    ['a group_openid over 128 characters', `/v1/groups/${'G'.repeat(129)}/messages`, 'group_openid'],
    ['an openid over 128 characters', `/v1/users/${'U'.repeat(129)}/messages`, 'openid'],
    ['an empty group_openid', '/v1/groups//messages', 'group_openid'],
    ['an openid with an encoded /', `/v1/users/${USER}%2Fx/messages`, 'openid'],
    ['a malformed percent-encoding', '/v1/users/%zz/messages', 'openid'],
  ])('refuses %s', async (_label, path, field) => {
    await expectRefused(await api.rawCall('POST', path), field);
  });

  it('answers 404 for a status id that is not an outbound id, and for one never given out', async () => {
    for (const id of ['not-an-id', `ob_${'0'.repeat(32)}`]) {
      const res = await api.call('GET', `/v1/messages/${id}`);
      expect(res.status).toBe(404);
      expect(res.json()).toMatchObject({ error: { code: 'not_found', field: 'id' } });
    }
  });
});
