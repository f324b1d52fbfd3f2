import { describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/index.js';
import { SimClient, connectReady, simulatorPerTest } from './sim-client.js';

const { clients, start } = simulatorPerTest();

async function connect(s: Simulator): Promise<SimClient> {
  const client = await SimClient.connect(s.wsUrl);
  clients.push(client);
  return client;
}

describe('handshake', () => {
  it('sends Hello with the configured interval, then READY with s = 1 on Identify', async () => {
    const s = await start({ heartbeatIntervalMs: 1234 });
    const client = await connect(s);
    expect(await client.next()).toEqual({ op: 10, d: { heartbeat_interval: 1234 } });
    client.send({ op: 2, d: { token: `QQBot ${s.currentToken()}`, intents: 1 << 25, shard: [0, 1] } });
    const ready = await client.next();
    expect(ready).toEqual({
      op: 0,
      s: 1,
      t: 'READY',
      d: {
        version: 1,
        session_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        user: { id: expect.any(String), username: expect.any(String), bot: true },
        shard: [0, 1],
      },
    });
    expect(s.state()).toMatchObject({
      identifies: 1,
      connections: 1,
      openConnections: 1,
      sessions: [
        {
          session_id: (ready.d as { session_id: string }).session_id,
          shard: [0, 1],
          seq: 1,
          connected: true,
        },
      ],
    });
  });

  it.each<[string, unknown, object]>([
    ['a huge number', 3e9, { heartbeat_interval: 3e9 }],
    ['a string', 'soon', { heartbeat_interval: 'soon' }],
    ['nothing', undefined, {}],
  ])(
    'sends Hello with heartbeat_interval %s when told to, for testing hostile gateways',
    async (_n, value, d) => {
      const s = await start({ helloHeartbeatInterval: value });
      const client = await connect(s);
      expect(await client.next()).toEqual({ op: 10, d });
    },
  );

  it('refuses a Hello heartbeat_interval that is not JSON as a usage error', async () => {
    await expect(start({ helloHeartbeatInterval: 10n })).rejects.toThrow(/helloHeartbeatInterval/);
  });

  it('treats an Identify without shard as shard [0, 1]', async () => {
    const s = await start();
    const client = await connect(s);
    await client.expectHello();
    client.send({ op: 2, d: { token: `QQBot ${s.currentToken()}`, intents: 1 << 25 } });
    expect(await client.next()).toMatchObject({ t: 'READY', d: { shard: [0, 1] } });
  });

  it.each([
    ['a token it never issued', 'QQBot forged'],
    ['a bare token without the QQBot prefix', 'BARE'],
  ])('closes with 4004 on Identify with %s', async (_name, token) => {
    const s = await start();
    const client = await connect(s);
    await client.expectHello();
    client.send({
      op: 2,
      d: { token: token === 'BARE' ? s.currentToken() : token, intents: 1 << 25, shard: [0, 1] },
    });
    expect((await client.closed).code).toBe(4004);
    expect(s.state().closes).toEqual([{ code: 4004, reason: 'authentication failed', by: 'server' }]);
  });

  it('closes with 4004 on Identify with a token revoked by expireTokens', async () => {
    const s = await start();
    const client = await connect(s);
    await client.expectHello();
    const token = s.currentToken();
    s.expireTokens();
    client.send({ op: 2, d: { token: `QQBot ${token}`, intents: 1 << 25, shard: [0, 1] } });
    expect((await client.closed).code).toBe(4004);
  });

  it('sends op 9 {d:false} then closes 4014 on an intent that exists but is not granted', async () => {
    const s = await start({ grantedIntents: 1 << 25 });
    const client = await connect(s);
    await client.expectHello();
    client.send({
      op: 2,
      d: { token: `QQBot ${s.currentToken()}`, intents: (1 << 25) | (1 << 30), shard: [0, 1] },
    });
    expect(await client.next()).toEqual({ op: 9, d: false });
    expect((await client.closed).code).toBe(4014);
    expect(s.state().sessions).toEqual([]);
  });

  it.each([
    ['a bit the platform does not define', (1 << 25) | (1 << 5)],
    ['a negative mask', -1],
    ['a non-integer', 'GROUP_AND_C2C_EVENT'],
  ])('sends op 9 {d:false} then closes 4013 on %s', async (_name, intents) => {
    const s = await start();
    const client = await connect(s);
    await client.expectHello();
    client.send({ op: 2, d: { token: `QQBot ${s.currentToken()}`, intents, shard: [0, 1] } });
    expect(await client.next()).toEqual({ op: 9, d: false });
    expect((await client.closed).code).toBe(4013);
  });

  it.each([
    ['id equal to count', [1, 1]],
    ['a zero count', [0, 0]],
    ['a negative id', [-1, 2]],
    ['three elements', [0, 1, 2]],
    ['strings', ['0', '1']],
  ])('closes with 4010 on a shard with %s', async (_name, shard) => {
    const s = await start();
    const client = await connect(s);
    await client.expectHello();
    client.send({ op: 2, d: { token: `QQBot ${s.currentToken()}`, intents: 1 << 25, shard } });
    expect((await client.closed).code).toBe(4010);
  });

  it.each([
    ['non-JSON text', 'hello?'],
    ['JSON without op', '{"d":1}'],
    ['a string op', '{"op":"1"}'],
    ['a JSON array', '[1]'],
    ['an Identify whose d is not an object', '{"op":2,"d":"token"}'],
  ])('closes with 4002 on %s', async (_name, text) => {
    const s = await start();
    const client = await connect(s);
    await client.expectHello();
    client.send(text);
    expect((await client.closed).code).toBe(4002);
  });

  it.each([0, 3, 11, 99])('closes with 4001 on unknown op %d', async (op) => {
    const s = await start();
    const client = await connect(s);
    await client.expectHello();
    client.send({ op, d: null });
    expect((await client.closed).code).toBe(4001);
  });

  it('closes with 4005 on a second Identify on an identified socket', async () => {
    const s = await start();
    const { client } = await connectReady(s);
    clients.push(client);
    client.send({ op: 2, d: { token: `QQBot ${s.currentToken()}`, intents: 1 << 25, shard: [0, 1] } });
    expect((await client.closed).code).toBe(4005);
  });

  it('refuses WebSocket upgrades on other paths', async () => {
    const s = await start();
    await expect(SimClient.connect(s.wsUrl.replace('/websocket', '/other'))).rejects.toThrow(/404/);
  });

  it('refuses an upgrade whose target does not parse as a path (//) and keeps serving', async () => {
    const s = await start();
    await expect(SimClient.connect(s.wsUrl.replace('/websocket', '//'))).rejects.toThrow(/404/);
    const { client } = await connectReady(s);
    clients.push(client);
  });
});

describe('heartbeat', () => {
  it('answers op 1 with op 11 and counts both', async () => {
    const s = await start();
    const { client } = await connectReady(s);
    clients.push(client);
    client.send({ op: 1, d: 1 });
    expect(await client.next()).toEqual({ op: 11 });
    expect(s.state()).toMatchObject({ heartbeats: 1, heartbeatAcks: 1 });
  });

  it('closes with 4009 when no heartbeat arrives in time, leaving the session resumable', async () => {
    const s = await start({ heartbeatIntervalMs: 40, heartbeatTimeoutMs: 80 });
    const { client, sessionId } = await connectReady(s);
    clients.push(client);
    expect((await client.closed).code).toBe(4009);
    expect(s.state().sessions).toEqual([
      { session_id: sessionId, shard: [0, 1], seq: 1, connected: false, resumes: 0, discarded: false },
    ]);
  });

  it('keeps a socket that heartbeats open past the timeout', async () => {
    const s = await start({ heartbeatIntervalMs: 30, heartbeatTimeoutMs: 90 });
    const { client } = await connectReady(s);
    clients.push(client);
    for (let i = 0; i < 6; i++) {
      client.send({ op: 1, d: 1 });
      expect(await client.next()).toEqual({ op: 11 });
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
    expect(s.state()).toMatchObject({ openConnections: 1, closes: [] });
  });
});

describe('dispatch', () => {
  it('numbers events after READY with strictly increasing s and T:<uuid> ids', async () => {
    const s = await start();
    const { client } = await connectReady(s);
    clients.push(client);
    expect(s.emit('GROUP_ADD_ROBOT', { group_openid: 'G1' }).s).toBe(2);
    expect(s.emit('C2C_MESSAGE_CREATE', { id: 'm1' }, { id: 'C2C_MESSAGE_CREATE:given' })).toEqual({
      s: 3,
      id: 'C2C_MESSAGE_CREATE:given',
    });
    expect(await client.next()).toEqual({
      op: 0,
      s: 2,
      t: 'GROUP_ADD_ROBOT',
      id: expect.stringMatching(/^GROUP_ADD_ROBOT:[0-9a-f-]{36}$/),
      d: { group_openid: 'G1' },
    });
    expect(await client.next()).toEqual({
      op: 0,
      s: 3,
      t: 'C2C_MESSAGE_CREATE',
      id: 'C2C_MESSAGE_CREATE:given',
      d: { id: 'm1' },
    });
    expect(s.state()).toMatchObject({ dispatched: 2, sessions: [{ seq: 3 }] });
  });

  it('buffers events emitted before any session and dispatches them right after READY', async () => {
    const s = await start();
    expect(s.emit('GROUP_ADD_ROBOT', { n: 1 })).toMatchObject({ s: 2 });
    expect(s.emit('GROUP_ADD_ROBOT', { n: 2 })).toMatchObject({ s: 3 });
    expect(s.state().pending).toBe(2);
    const { client } = await connectReady(s);
    clients.push(client);
    expect(await client.next()).toMatchObject({ s: 2, d: { n: 1 } });
    expect(await client.next()).toMatchObject({ s: 3, d: { n: 2 } });
    expect(s.state()).toMatchObject({ pending: 0, dispatched: 2 });
  });

  it('routes events to the session of their shard only', async () => {
    const s = await start();
    const zero = await connectReady(s, { shard: [0, 2] });
    const one = await connectReady(s, { shard: [1, 2] });
    clients.push(zero.client, one.client);
    s.emit('FRIEND_ADD', { to: 1 }, { shard: 1 });
    s.emit('FRIEND_ADD', { to: 0 });
    expect(await one.client.next()).toMatchObject({ s: 2, d: { to: 1 } });
    expect(await zero.client.next()).toMatchObject({ s: 2, d: { to: 0 } });
    expect(await one.client.drain(50)).toEqual([]);
  });

  it('replaces a shard session on a new Identify and drops the old socket', async () => {
    const s = await start();
    const first = await connectReady(s);
    const second = await connectReady(s);
    clients.push(first.client, second.client);
    expect((await first.client.closed).code).toBe(1006);
    s.emit('FRIEND_ADD', {});
    expect(await second.client.next()).toMatchObject({ s: 2, t: 'FRIEND_ADD' });
    expect(s.state().sessions.map((x) => x.discarded)).toEqual([true, false]);
  });

  it('rejects an emit without an event type as a usage error', async () => {
    const s = await start();
    expect(() => s.emit('', {})).toThrow(/"t" must be a non-empty string/);
    expect(() => s.emit('X', {}, { shard: -1 })).toThrow(/"shard"/);
  });
});
