import { describe, expect, it } from 'vitest';
import { getJson, postJson, simulatorPerTest } from './sim-client.js';

const CREDENTIALS = { appId: '102000000', clientSecret: 'simulator-secret' };

const { start } = simulatorPerTest({});

describe('HTTP faults', () => {
  it('http_error answers the next `times` requests to its path with the status, then serves normally', async () => {
    const s = await start();
    const auth = { authorization: `QQBot ${s.currentToken()}` };
    expect(s.fault('http_error', { path: '/gateway/bot', status: 503, times: 2 })).toBe(2);
    const failed = { status: 503, body: { code: 503, message: 'simulated HTTP 503 (fault injection)' } };
    expect(await getJson(`${s.origin}/gateway/bot`, auth)).toEqual(failed);
    // other routes are not affected
    expect((await getJson(`${s.origin}/gateway`, auth)).status).toBe(200);
    expect(await getJson(`${s.origin}/gateway/bot`, auth)).toEqual(failed);
    expect(await getJson(`${s.origin}/gateway/bot`, auth)).toMatchObject({
      status: 200,
      body: { url: s.wsUrl, shards: 1 },
    });
    expect(s.state()).toMatchObject({ gatewayBotRequests: 3, gatewayRequests: 1 });
  });

  it('token_rate_limit answers like QQ: HTTP 200, code 100001, no access_token; counted as a token request', async () => {
    const s = await start();
    s.fault('token_rate_limit');
    expect(await postJson(`${s.origin}/app/getAppAccessToken`, CREDENTIALS)).toEqual({
      status: 200,
      body: { code: 100001, message: 'Too many requests' },
    });
    expect((await postJson(`${s.origin}/app/getAppAccessToken`, CREDENTIALS)).body).toHaveProperty(
      'access_token',
    );
    expect(s.state().tokenRequests).toBe(2);
  });

  it('arms faults over POST /_sim/fault and reports how many requests they will answer', async () => {
    const s = await start();
    expect(await postJson(`${s.origin}/_sim/fault`, { kind: 'token_rate_limit', times: 3 })).toEqual({
      status: 200,
      body: { applied: 3 },
    });
    expect(
      await postJson(`${s.origin}/_sim/fault`, {
        kind: 'http_error',
        path: '/app/getAppAccessToken',
        status: 500,
      }),
    ).toEqual({ status: 200, body: { applied: 1 } });
    const codes = [];
    for (let i = 0; i < 5; i++) {
      const res = await postJson(`${s.origin}/app/getAppAccessToken`, CREDENTIALS);
      codes.push(
        res.status === 200 && 'access_token' in res.body ? 'token' : `${res.status}/${String(res.body.code)}`,
      );
    }
    expect(codes).toEqual(['200/100001', '200/100001', '200/100001', '500/500', 'token']);
  });

  it.each([
    [{ kind: 'http_error', status: 500 }, /"path" must be one of/],
    [{ kind: 'http_error', path: '/websocket', status: 500 }, /"path" must be one of/],
    [{ kind: 'http_error', path: '/gateway/bot' }, /"status"/],
    [{ kind: 'http_error', path: '/gateway/bot', status: 200 }, /"status"/],
    [{ kind: 'http_error', path: '/gateway/bot', status: 500, times: 0 }, /"times"/],
    [{ kind: 'http_error', path: '/gateway/bot', status: 500, shard: 0 }, /"shard" applies to socket faults/],
    [{ kind: 'token_rate_limit', path: '/gateway' }, /"path" of token_rate_limit/],
    [{ kind: 'token_rate_limit', status: 429 }, /"status" applies to http_error only/],
    [{ kind: 'close', times: 2 }, /"times" applies to http_error and token_rate_limit only/],
  ])('refuses %j with a 400 naming the field', async (body, message) => {
    const s = await start();
    const res = await postJson(`${s.origin}/_sim/fault`, body);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(message);
    expect(s.state()).toMatchObject({ tokenRequests: 0, gatewayBotRequests: 0 });
  });
});
