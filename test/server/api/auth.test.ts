import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log.js';
import { createHttpServer } from '../../../src/server/http.js';
import { createMetrics } from '../../../src/server/metrics.js';
import { startSimulator, type Simulator } from '../../../src/simulator/index.js';
import { ADMIN_TOKEN, API_TOKEN, GROUP, SECOND_API_TOKEN, startApi, type ApiHarness } from './harness.js';

let sim: Simulator;
let running: ApiHarness | undefined;

beforeAll(async () => {
  sim = await startSimulator();
});
afterAll(() => sim.close());
afterEach(async () => {
  await running?.close();
  running = undefined;
});

async function start(): Promise<ApiHarness> {
  running = await startApi(sim);
  return running;
}

const SEND = `/v1/groups/${GROUP}/messages`;
const MESSAGE = { content: 'hello', msg_type: 0 };

describe('send API authentication', () => {
  it('answers 401 with a Bearer challenge and a JSON error without a token, before reading the request', async () => {
    const api = await start();
    // A body that would be a 400: the 401 comes first, so nothing is learnt without a token.
    const res = await api.call('POST', SEND, { raw: 'not json', headers: { authorization: '' } });
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe(
      'Bearer realm="qq-webhook-bridge api", error="invalid_token"',
    );
    expect(res.json()).toEqual({
      error: expect.objectContaining({ code: 'unauthorized', field: 'Authorization' }) as unknown,
    });
    const missing = await request(`${api.base}/v1/messages/ob_x`);
    expect(missing.statusCode).toBe(401);
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="qq-webhook-bridge api"');
    await missing.body.dump();
    expect(await api.queue.getJobCounts()).toMatchObject({ waiting: 0 });
  });

  it.each([
    ['a wrong token', 'Bearer not-the-token'],
    ['a token prefix', `Bearer ${API_TOKEN.slice(0, -1)}`],
    ['the admin token', `Bearer ${ADMIN_TOKEN}`],
    ['another scheme', `Basic ${API_TOKEN}`],
  ])('answers 401 for %s', async (_label, authorization) => {
    const api = await start();
    const res = await api.call('POST', SEND, { body: MESSAGE, headers: { authorization } });
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
    expect(await api.queue.getJobCounts()).toMatchObject({ waiting: 0 });
  });

  it('accepts every token of the list', async () => {
    const api = await start();
    for (const token of [API_TOKEN, SECOND_API_TOKEN]) {
      const res = await api.call('POST', SEND, {
        body: MESSAGE,
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.status).toBe(202);
    }
  });

  it('does not let an API token into /admin', async () => {
    const api = await start();
    const res = await api.call('GET', '/admin/queues');
    expect(res.status).toBe(401);
  });

  it('answers an authorized request for an unknown /v1 path 404 and a known route with another method 405', async () => {
    const api = await start();
    const unknown = await api.call('GET', '/v1/nothing-here');
    expect(unknown.status).toBe(404);
    expect(unknown.json()).toMatchObject({ error: { code: 'not_found' } });
    const wrongMethod = await api.call('GET', SEND);
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers['allow']).toBe('POST');
    expect(wrongMethod.json()).toMatchObject({ error: { code: 'method_not_allowed' } });
  });

  it('counts requests by route template and status, never by the path itself', async () => {
    const api = await start();
    await api.call('POST', SEND, { body: MESSAGE });
    await api.call('POST', SEND, { body: MESSAGE, headers: { authorization: 'Bearer wrong' } });
    await api.call('GET', '/v1/nothing-here');
    const text = await api.metrics.render();
    expect(text).toContain(
      'qqwb_api_requests_total{route="/v1/groups/{group_openid}/messages",status="202"} 1',
    );
    expect(text).toContain(
      'qqwb_api_requests_total{route="/v1/groups/{group_openid}/messages",status="401"} 1',
    );
    expect(text).toContain('qqwb_api_requests_total{route="unmatched",status="404"} 1');
    expect(text).not.toContain(GROUP);
  });
});

describe('without API tokens', () => {
  it('has no /v1 routes at all: 404 like any unknown path, with or without a token', async () => {
    const server = createHttpServer({
      config: { host: '127.0.0.1', port: 0, adminToken: '', apiTokens: [] },
      metrics: createMetrics(),
      health: () =>
        Promise.resolve({
          role: 'all',
          started: true,
          shards: [],
          redis: 'up',
          journal: { mode: 'direct', events: 0 },
        }),
      logger: silentLogger(),
    });
    const { host, port } = await server.listen();
    try {
      for (const authorization of [undefined, `Bearer ${API_TOKEN}`]) {
        const res = await request(`http://${host}:${port}${SEND}`, {
          method: 'POST',
          body: JSON.stringify(MESSAGE),
          headers: authorization ? { authorization } : {},
        });
        expect(res.statusCode).toBe(404);
        expect(res.headers['www-authenticate']).toBeUndefined();
        expect(await res.body.json()).toEqual({ error: 'not_found' });
      }
    } finally {
      await server.close();
    }
  });
});
