import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../src/demo/redis.js';
import { startSimulator, type Simulator } from '../../../src/simulator/index.js';
import { startReceiver, type Receiver } from '../../helpers/receiver.js';
import { APP_ID, GROUP, USER, startApi, type ApiHarness, type HarnessOptions } from './harness.js';

let sim: Simulator;
let running: ApiHarness | undefined;
let qq: Receiver | undefined;

beforeAll(async () => {
  sim = await startSimulator();
});
afterAll(() => sim.close());
afterEach(async () => {
  await running?.close();
  await qq?.close();
  running = undefined;
  qq = undefined;
});

async function start(options: HarnessOptions = {}): Promise<ApiHarness> {
  running = await startApi(sim, options);
  return running;
}

/** A recording server standing in for QQ's API (the token still comes from the simulator). */
async function recordingQq(
  answer: Parameters<typeof startReceiver>[0],
): Promise<{ api: ApiHarness; qq: Receiver }> {
  qq = await startReceiver(answer);
  const api = await start({ apiBase: new URL(qq.url).origin });
  return { api, qq };
}

describe('recall', () => {
  it('relays QQ’s status and body for a group recall, sent to the QQ path it names', async () => {
    const api = await start();
    const res = await api.call('DELETE', `/v1/groups/${GROUP}/messages/ROBOT1.0_sent`);
    // The simulator never sent ROBOT1.0_sent: QQ's refusal of the recall comes back as QQ gave it.
    expect(res.status).toBe(400);
    expect(res.json()).toMatchObject({ code: 40034026 });
    expect(res.headers['content-type']).toContain('application/json');
  });

  it('calls DELETE /v2/users/{openid}/messages/{id} with the bridge’s token and relays QQ’s answer', async () => {
    const { api, qq } = await recordingQq(() => ({
      status: 200,
      headers: { 'content-type': 'application/json', 'x-tps-trace-id': 'trace-1' },
      body: '{"code":0}',
    }));
    const res = await api.call('DELETE', `/v1/users/${USER}/messages/ROBOT1.0%2Bx`);
    expect(res.status).toBe(200);
    expect(res.text).toBe('{"code":0}');
    expect(res.headers['x-tps-trace-id']).toBe('trace-1');
    expect(qq.requests).toHaveLength(1);
    expect(qq.requests[0]).toMatchObject({
      method: 'DELETE',
      path: `/v2/users/${USER}/messages/ROBOT1.0%2Bx`,
      headers: { authorization: `QQBot ${sim.currentToken()}`, 'x-union-appid': APP_ID },
    });
  });
});

describe('/v1/openapi pass-through', () => {
  it('relays an endpoint the API does not model (GET /gateway/bot) with the bridge’s token', async () => {
    const api = await start();
    const res = await api.call('GET', '/v1/openapi/gateway/bot');
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({
      url: sim.wsUrl,
      shards: 1,
      session_start_limit: expect.any(Object) as unknown,
    });
  });

  it('fetches a new token when QQ refuses the held one, and relays the answer', async () => {
    const api = await start();
    expect((await api.call('GET', '/v1/openapi/gateway')).status).toBe(200);
    sim.expireTokens();
    const res = await api.call('GET', '/v1/openapi/gateway');
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ url: sim.wsUrl });
  });

  it('forwards method, path, query and JSON body, none of the caller’s headers, and relays status and body', async () => {
    const { api, qq } = await recordingQq(() => ({
      status: 201,
      headers: {
        'content-type': 'application/json',
        'set-cookie': 'session=qq',
        'x-tps-trace-id': 'trace-2',
        'retry-after': '3',
      },
      body: '{"file_uuid":"F1","file_info":"INFO","ttl":0}',
    }));
    const upload = { file_type: 1, url: 'https://example.com/a.png', srv_send_msg: false };
    const res = await api.call('POST', `/v1/openapi/v2/groups/${GROUP}/files?trace=1&x=a%20b`, {
      body: upload,
      headers: {
        cookie: 'mine=1',
        'x-custom': 'mine',
        'x-union-appid': 'forged',
        'proxy-authorization': 'Basic eDp5',
      },
    });
    expect(res.status).toBe(201);
    expect(res.json()).toEqual({ file_uuid: 'F1', file_info: 'INFO', ttl: 0 });
    expect(res.headers['x-tps-trace-id']).toBe('trace-2');
    expect(res.headers['retry-after']).toBe('3');
    expect(res.headers['set-cookie']).toBeUndefined();
    const [seen] = qq.requests;
    expect(seen).toMatchObject({ method: 'POST', path: `/v2/groups/${GROUP}/files?trace=1&x=a%20b` });
    expect(JSON.parse(seen!.body)).toEqual(upload);
    expect(seen!.headers['authorization']).toBe(`QQBot ${sim.currentToken()}`);
    expect(seen!.headers['x-union-appid']).toBe(APP_ID);
    for (const name of ['cookie', 'x-custom', 'proxy-authorization'])
      expect(seen!.headers[name]).toBeUndefined();
  });

  it.each([
    ['a .. segment', '/v1/openapi/v2/../gateway/bot'],
    ['an encoded .. segment', '/v1/openapi/v2/%2e%2E/gateway/bot'],
    ['a . segment', '/v1/openapi/./gateway/bot'],
    ['an absolute URL inside the path', '/v1/openapi/http://attacker.example/x'],
    ['a // in the path', '/v1/openapi//gateway/bot'],
    ['an encoded /', '/v1/openapi/gateway%2Fbot'],
    ['a backslash', '/v1/openapi/gateway\\bot'],
    ['an absolute-form request target', 'http://attacker.example/v1/openapi/gateway/bot'],
  ])('refuses %s with 400 and calls nothing', async (_label, target) => {
    const { api, qq } = await recordingQq(() => ({ status: 200, body: '{}' }));
    const res = await api.rawCall('GET', target);
    expect(res.status).toBe(400);
    expect(res.json()).toMatchObject({ error: { code: 'invalid_request', field: 'path' } });
    expect(qq.requests).toHaveLength(0);
  });

  it('refuses a body that is not JSON with 400, and methods QQ does not use with 405', async () => {
    const { api, qq } = await recordingQq(() => ({ status: 200, body: '{}' }));
    const notJson = await api.call('POST', `/v1/openapi/v2/groups/${GROUP}/members`, { raw: 'limit=10' });
    expect(notJson.status).toBe(400);
    expect(notJson.json()).toMatchObject({ error: { field: 'body' } });
    const options = await api.call('OPTIONS', '/v1/openapi/gateway');
    expect(options.status).toBe(405);
    expect(options.headers['allow']).toBe('GET, POST, PUT, PATCH, DELETE');
    expect(qq.requests).toHaveLength(0);
  });

  it('answers 502 qq_unreachable when QQ does not answer', async () => {
    const api = await start({ apiBase: `http://127.0.0.1:${await freePort()}` });
    const res = await api.call('GET', '/v1/openapi/gateway');
    expect(res.status).toBe(502);
    expect(res.json()).toMatchObject({ error: { code: 'qq_unreachable' } });
  });
});
