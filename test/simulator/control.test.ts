import { describe, expect, it } from 'vitest';
import { connectReady, getJson, postJson, simulatorPerTest } from './sim-client.js';

const { clients, start } = simulatorPerTest();

describe('HTTP control endpoints', () => {
  it('POST /_sim/emit dispatches an event and returns its s and id', async () => {
    const s = await start();
    const { client } = await connectReady(s);
    clients.push(client);
    const res = await postJson(`${s.origin}/_sim/emit`, {
      t: 'FRIEND_ADD',
      d: { user_openid: 'U1' },
      id: 'FRIEND_ADD:x',
    });
    expect(res).toEqual({ status: 200, body: { s: 2, id: 'FRIEND_ADD:x' } });
    expect(await client.next()).toEqual({
      op: 0,
      s: 2,
      t: 'FRIEND_ADD',
      id: 'FRIEND_ADD:x',
      d: { user_openid: 'U1' },
    });
  });

  it('POST /_sim/emit before any session buffers the event for the first READY', async () => {
    const s = await start();
    const res = await postJson(`${s.origin}/_sim/emit`, { t: 'GROUP_ADD_ROBOT', d: {}, shard: 0 });
    expect(res.status).toBe(200);
    expect(res.body.s).toBe(2);
    const { client } = await connectReady(s);
    clients.push(client);
    expect(await client.next()).toMatchObject({ s: 2, t: 'GROUP_ADD_ROBOT', id: res.body.id });
  });

  it('POST /_sim/fault applies the fault and reports how many sockets it hit', async () => {
    const s = await start();
    const { client } = await connectReady(s);
    clients.push(client);
    const res = await postJson(`${s.origin}/_sim/fault`, { kind: 'close', code: 4006 });
    expect(res).toEqual({ status: 200, body: { applied: 1 } });
    expect((await client.closed).code).toBe(4006);
    expect(s.state().sessions).toMatchObject([{ discarded: true }]);
  });

  it('GET /_sim/state returns the same JSON as state()', async () => {
    const s = await start();
    const { client } = await connectReady(s);
    clients.push(client);
    const res = await getJson(`${s.origin}/_sim/state`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(JSON.parse(JSON.stringify(s.state())));
    expect(res.body).toMatchObject({ identifies: 1, connections: 1, tokenRequests: 0 });
  });

  it.each([
    ['/_sim/emit', 'not json', /not valid JSON/],
    ['/_sim/emit', { d: {} }, /"t"/],
    ['/_sim/emit', { t: 'X' }, /"d" is required/],
    ['/_sim/emit', { t: 'X', d: {}, shard: 'one' }, /"shard"/],
    ['/_sim/emit', { t: 'X', d: {}, id: 7 }, /"id"/],
    ['/_sim/fault', { kind: 'explode' }, /"kind" must be one of/],
    ['/_sim/fault', { kind: 'close', code: 1006 }, /"code"/],
    ['/_sim/fault', [], /JSON object/],
  ])('POST %s with a bad body (%j) answers 400 with a clear error', async (path, body, message) => {
    const s = await start();
    const res = await postJson(`${s.origin}${path}`, body);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(message);
    // and the simulator keeps serving
    expect((await getJson(`${s.origin}/_sim/state`)).status).toBe(200);
  });

  it('answers unknown control paths with 404 and wrong methods with 405', async () => {
    const s = await start();
    expect((await getJson(`${s.origin}/_sim/nope`)).status).toBe(404);
    expect((await getJson(`${s.origin}/_sim/emit`)).status).toBe(405);
    expect((await postJson(`${s.origin}/_sim/state`, {})).status).toBe(405);
  });
});

describe('waitFor', () => {
  it('resolves with the first matching state', async () => {
    const s = await start();
    setTimeout(() => void connectReady(s).then(({ client }) => clients.push(client)), 20);
    const state = await s.waitFor((x) => x.sessions.length === 1);
    expect(state.identifies).toBe(1);
  });

  it('rejects on timeout with the last state in the message', async () => {
    const s = await start();
    await expect(s.waitFor((x) => x.identifies > 0, 50)).rejects.toThrow(
      /within 50 ms; last state: \{"sessions":\[\]/,
    );
  });
});
