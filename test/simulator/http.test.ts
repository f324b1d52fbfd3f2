import { describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/index.js';
import { connectReady, getJson, postJson, simulatorPerTest } from './sim-client.js';

const CREDENTIALS = { appId: '102000000', clientSecret: 'simulator-secret' };

const lifecycle = simulatorPerTest({});
const { clients } = lifecycle;

function start(now?: () => number): Promise<Simulator> {
  return lifecycle.start(now ? { now } : {});
}

describe('POST /app/getAppAccessToken', () => {
  it('issues a token with expires_in as a string of remaining seconds', async () => {
    let now = 5_000_000;
    const s = await start(() => now);
    const first = await postJson(`${s.origin}/app/getAppAccessToken`, CREDENTIALS);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ access_token: expect.any(String), expires_in: '7200' });

    now += 100_000;
    const again = await postJson(`${s.origin}/app/getAppAccessToken`, CREDENTIALS);
    expect(again.body).toEqual({ access_token: first.body.access_token, expires_in: '7100' });
    expect(s.state().tokenRequests).toBe(2);
  });

  it('issues a new token in the last 60 s while the old one still authorizes requests', async () => {
    let now = 0;
    const s = await start(() => now);
    const old = (await postJson(`${s.origin}/app/getAppAccessToken`, CREDENTIALS)).body
      .access_token as string;
    now = (7200 - 30) * 1000;
    const fresh = await postJson(`${s.origin}/app/getAppAccessToken`, CREDENTIALS);
    expect(fresh.body.access_token).not.toBe(old);
    expect(fresh.body.expires_in).toBe('7200');
    expect((await getJson(`${s.origin}/gateway`, { authorization: `QQBot ${old}` })).status).toBe(200);
    now = 7200 * 1000;
    expect((await getJson(`${s.origin}/gateway`, { authorization: `QQBot ${old}` })).status).toBe(401);
  });

  it('answers bad credentials with HTTP 200, code 100016 and no access_token', async () => {
    const s = await start();
    const res = await postJson(`${s.origin}/app/getAppAccessToken`, {
      ...CREDENTIALS,
      clientSecret: 'wrong',
    });
    expect(res).toEqual({ status: 200, body: { code: 100016, message: 'invalid appid or secret' } });
  });

  it.each([
    ['non-JSON', 'appId=102000000'],
    ['a numeric appId', JSON.stringify({ appId: 102000000, clientSecret: 'simulator-secret' })],
    ['an array', '[]'],
  ])('answers a malformed body (%s) with HTTP 200 and code 100016', async (_name, body) => {
    const s = await start();
    const res = await postJson(`${s.origin}/app/getAppAccessToken`, body);
    expect(res.status).toBe(200);
    expect(res.body.code).toBe(100016);
    expect(res.body).not.toHaveProperty('access_token');
  });
});

describe('gateway discovery', () => {
  it('GET /gateway returns the WebSocket URL to a valid token', async () => {
    const s = await start();
    const res = await getJson(`${s.origin}/gateway`, { authorization: `QQBot ${s.currentToken()}` });
    expect(res).toEqual({ status: 200, body: { url: s.wsUrl } });
  });

  it('GET /gateway/bot reports shards and a session_start_limit that each Identify consumes', async () => {
    const s = await start();
    const auth = { authorization: `QQBot ${s.currentToken()}` };
    const before = await getJson(`${s.origin}/gateway/bot`, auth);
    expect(before.status).toBe(200);
    expect(before.body).toEqual({
      url: s.wsUrl,
      shards: 1,
      session_start_limit: {
        total: 1000,
        remaining: 1000,
        reset_after: expect.any(Number),
        max_concurrency: 1,
      },
    });
    clients.push((await connectReady(s)).client);
    const after = await getJson(`${s.origin}/gateway/bot`, auth);
    expect(after.body.session_start_limit).toMatchObject({ remaining: 999 });
  });

  it.each([
    ['no Authorization header', {}],
    ['an unknown token', { authorization: 'QQBot not-a-token' }],
    ['the legacy Bot scheme', { authorization: 'Bot 102000000.token' }],
  ])('refuses %s with 401 and code 11244', async (_name, headers: Record<string, string>) => {
    const s = await start();
    for (const path of ['/gateway', '/gateway/bot']) {
      const res = await getJson(`${s.origin}${path}`, headers);
      expect(res).toEqual({ status: 401, body: { code: 11244, message: 'token not exist or expire' } });
    }
  });

  it('refuses a token revoked by expireTokens', async () => {
    const s = await start();
    const token = s.currentToken();
    s.expireTokens();
    expect((await getJson(`${s.origin}/gateway`, { authorization: `QQBot ${token}` })).status).toBe(401);
  });

  it('answers unknown paths with 404 and wrong methods with 405', async () => {
    const s = await start();
    expect((await getJson(`${s.origin}/nope`)).status).toBe(404);
    const wrongMethod = await getJson(`${s.origin}/app/getAppAccessToken`);
    expect(wrongMethod.status).toBe(405);
  });

  it('answers 400 to a request target that does not parse as a path (//)', async () => {
    const s = await start();
    expect(await getJson(`${s.origin}//`)).toEqual({
      status: 400,
      body: { code: 400, message: 'the request target // is not a path' },
    });
  });
});
