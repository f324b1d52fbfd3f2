import { describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/index.js';
import { SimClient, connectReady, simulatorPerTest } from './sim-client.js';

const { clients, start } = simulatorPerTest();

/** Opens a socket, reads Hello and sends Resume. */
async function resume(s: Simulator, sessionId: string, seq: number, token = `QQBot ${s.currentToken()}`) {
  const client = await SimClient.connect(s.wsUrl);
  clients.push(client);
  await client.expectHello();
  client.send({ op: 6, d: { token, session_id: sessionId, seq } });
  return client;
}

describe('resume', () => {
  it('replays exactly the events after seq, in order, then RESUMED with d "" and the next s', async () => {
    const s = await start();
    const { client, sessionId } = await connectReady(s);
    clients.push(client);
    s.emit('GROUP_ADD_ROBOT', { n: 2 });
    expect(await client.next()).toMatchObject({ s: 2 });
    client.close();
    await s.waitFor((state) => state.openConnections === 0);
    // emitted while disconnected: logged, not sent
    const missed = [s.emit('GROUP_MSG_RECEIVE', { n: 3 }), s.emit('GROUP_MSG_REJECT', { n: 4 })];
    expect(s.state().dispatched).toBe(1);

    const resumed = await resume(s, sessionId, 2);
    expect(await resumed.next()).toEqual({
      op: 0,
      s: 3,
      t: 'GROUP_MSG_RECEIVE',
      id: missed[0]!.id,
      d: { n: 3 },
    });
    expect(await resumed.next()).toEqual({
      op: 0,
      s: 4,
      t: 'GROUP_MSG_REJECT',
      id: missed[1]!.id,
      d: { n: 4 },
    });
    expect(await resumed.next()).toEqual({ op: 0, s: 5, t: 'RESUMED', d: '' });
    expect(s.state()).toMatchObject({
      resumes: 1,
      sessions: [{ session_id: sessionId, seq: 5, connected: true, resumes: 1 }],
    });
    // the session continues after RESUMED
    s.emit('FRIEND_ADD', {});
    expect(await resumed.next()).toMatchObject({ s: 6, t: 'FRIEND_ADD' });
  });

  it('replays events the client saw but did not acknowledge when seq is older', async () => {
    const s = await start();
    const { client, sessionId } = await connectReady(s);
    clients.push(client);
    s.emit('A', {});
    s.emit('B', {});
    await client.next();
    await client.next();
    client.close();
    const resumed = await resume(s, sessionId, 1);
    expect((await resumed.next()).t).toBe('A');
    expect((await resumed.next()).t).toBe('B');
    expect(await resumed.next()).toMatchObject({ t: 'RESUMED', s: 4 });
  });

  it('answers a Resume of an unknown session with op 9 {d:false} and keeps the socket open', async () => {
    const s = await start();
    const client = await resume(s, '00000000-0000-0000-0000-000000000000', 0);
    expect(await client.next()).toEqual({ op: 9, d: false });
    // the client may now identify on the same socket
    client.send({ op: 2, d: { token: `QQBot ${s.currentToken()}`, intents: 1 << 25, shard: [0, 1] } });
    expect(await client.next()).toMatchObject({ t: 'READY', s: 1 });
  });

  it('closes with 4007 when seq is beyond the latest s', async () => {
    const s = await start();
    const { client, sessionId } = await connectReady(s);
    clients.push(client);
    client.close();
    const resumed = await resume(s, sessionId, 2);
    expect((await resumed.closed).code).toBe(4007);
    // 4007 discards the session: a second resume is refused with op 9
    const again = await resume(s, sessionId, 1);
    expect(await again.next()).toEqual({ op: 9, d: false });
  });

  it('closes with 4004 on a Resume with an expired token', async () => {
    const s = await start();
    const { client, sessionId } = await connectReady(s);
    clients.push(client);
    const token = `QQBot ${s.currentToken()}`;
    client.close();
    s.expireTokens();
    const resumed = await resume(s, sessionId, 1, token);
    expect((await resumed.closed).code).toBe(4004);
    // an auth failure is not the session's fault: it stays resumable with a fresh token
    const retry = await resume(s, sessionId, 1);
    expect(await retry.next()).toMatchObject({ t: 'RESUMED', s: 2 });
  });

  it('terminates the old socket when a session is resumed while it is still open', async () => {
    const s = await start();
    const { client, sessionId } = await connectReady(s);
    clients.push(client);
    const resumed = await resume(s, sessionId, 1);
    expect(await resumed.next()).toMatchObject({ t: 'RESUMED', s: 2 });
    expect((await client.closed).code).toBe(1006);
    s.emit('FRIEND_ADD', {});
    expect(await resumed.next()).toMatchObject({ s: 3, t: 'FRIEND_ADD' });
    expect(s.state().sessions).toMatchObject([{ connected: true, resumes: 1 }]);
  });
});
