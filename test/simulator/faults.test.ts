import { describe, expect, it } from 'vitest';
import { MALFORMED_FRAME_TEXT, type Simulator } from '../../src/simulator/index.js';
import { SimClient, connectReady, simulatorPerTest } from './sim-client.js';

const { clients, start } = simulatorPerTest();

async function ready(): Promise<{ s: Simulator; client: SimClient; sessionId: string }> {
  const sim = await start();
  const { client, sessionId } = await connectReady(sim);
  clients.push(client);
  return { s: sim, client, sessionId };
}

/** Resumes `sessionId` from `seq` on a new socket and returns every frame up to RESUMED or op 9. */
async function resumeFrames(s: Simulator, sessionId: string, seq: number) {
  const client = await SimClient.connect(s.wsUrl);
  clients.push(client);
  await client.expectHello();
  client.send({ op: 6, d: { token: `QQBot ${s.currentToken()}`, session_id: sessionId, seq } });
  const frames = [];
  for (;;) {
    const frame = await client.next();
    frames.push(frame);
    if (frame.op === 9 || frame.t === 'RESUMED') return { client, frames };
  }
}

describe('faults', () => {
  it('reconnect sends op 7, closes 4009 and leaves the session resumable', async () => {
    const { s, client, sessionId } = await ready();
    s.fault('reconnect');
    expect(await client.next()).toEqual({ op: 7 });
    expect(await client.closed).toEqual({ code: 4009, reason: 'reconnect requested' });
    const { frames } = await resumeFrames(s, sessionId, 1);
    expect(frames).toEqual([{ op: 0, s: 2, t: 'RESUMED', d: '' }]);
  });

  it('invalid_session sends op 9 {d:false}, discards the session and keeps the socket open', async () => {
    const { s, client, sessionId } = await ready();
    s.fault('invalid_session');
    expect(await client.next()).toEqual({ op: 9, d: false });
    expect(s.state().sessions).toMatchObject([{ session_id: sessionId, discarded: true, connected: false }]);
    client.send({ op: 2, d: { token: `QQBot ${s.currentToken()}`, intents: 1 << 25, shard: [0, 1] } });
    expect(await client.next()).toMatchObject({ t: 'READY', s: 1 });
    const { frames } = await resumeFrames(s, sessionId, 1);
    expect(frames).toEqual([{ op: 9, d: false }]);
  });

  it('invalid_session with a shard also discards that shard session while it has no socket', async () => {
    const { s, client, sessionId } = await ready();
    client.close();
    await s.waitFor((state) => state.openConnections === 0);
    s.fault('invalid_session', { shard: 0 });
    const { frames } = await resumeFrames(s, sessionId, 1);
    expect(frames).toEqual([{ op: 9, d: false }]);
  });

  it.each([1000, 1001, 4008, 4009])('close %d leaves the session resumable', async (code) => {
    const { s, client, sessionId } = await ready();
    s.fault('close', { code });
    expect((await client.closed).code).toBe(code);
    expect(s.state().closes).toEqual([{ code, reason: 'closed by fault injection', by: 'server' }]);
    const { frames } = await resumeFrames(s, sessionId, 1);
    expect(frames.at(-1)).toMatchObject({ t: 'RESUMED' });
  });

  it.each([4006, 4007, 4900, 4902, 4913, 4001])('close %d discards the session', async (code) => {
    const { s, client, sessionId } = await ready();
    s.fault('close', { code });
    expect((await client.closed).code).toBe(code);
    const { frames } = await resumeFrames(s, sessionId, 1);
    expect(frames).toEqual([{ op: 9, d: false }]);
  });

  it('close defaults to 4009', async () => {
    const { s, client } = await ready();
    s.fault('close');
    expect((await client.closed).code).toBe(4009);
  });

  it('cut drops the TCP link without a close frame and leaves the session resumable', async () => {
    const { s, client, sessionId } = await ready();
    s.fault('cut');
    expect((await client.closed).code).toBe(1006);
    s.emit('FRIEND_ADD', { while: 'cut' });
    const { frames } = await resumeFrames(s, sessionId, 1);
    expect(frames).toMatchObject([
      { s: 2, d: { while: 'cut' } },
      { t: 'RESUMED', s: 3 },
    ]);
  });

  it('half_dead stops ACKs and dispatches on an open socket; the events are replayed on resume', async () => {
    const { s, client, sessionId } = await ready();
    s.fault('half_dead');
    client.send({ op: 1, d: 1 });
    const { s: seq } = s.emit('GROUP_AT_MESSAGE_CREATE', { id: 'm1' });
    expect(await client.drain(100)).toEqual([]);
    expect(s.state()).toMatchObject({ heartbeats: 1, heartbeatAcks: 0, dispatched: 0, openConnections: 1 });
    const { frames } = await resumeFrames(s, sessionId, 1);
    expect(frames).toMatchObject([{ s: seq, d: { id: 'm1' } }, { t: 'RESUMED' }]);
    expect((await client.closed).code).toBe(1006);
  });

  it('hello sends another Hello on an open socket and changes nothing else', async () => {
    const { s, client } = await ready();
    s.fault('hello');
    expect(await client.next()).toEqual({ op: 10, d: { heartbeat_interval: 1000 } });
    client.send({ op: 1, d: 1 });
    expect(await client.next()).toEqual({ op: 11 });
    expect(s.state()).toMatchObject({ openConnections: 1, closes: [] });
  });

  it('malformed_frame sends one text frame that is not JSON; socket and session carry on', async () => {
    const { s, client } = await ready();
    expect(s.fault('malformed_frame')).toBe(1);
    const { s: seq } = s.emit('FRIEND_ADD', { after: 'garbage' });
    // frames arrive in order: the dispatch after the garbage proves the garbage came first
    expect(await client.next()).toMatchObject({ s: seq, d: { after: 'garbage' } });
    expect(client.malformed).toEqual([MALFORMED_FRAME_TEXT]);
    expect(() => JSON.parse(MALFORMED_FRAME_TEXT) as unknown).toThrow();
    expect(s.state()).toMatchObject({ openConnections: 1, closes: [] });
  });

  it('applies a fault with a shard only to that shard socket', async () => {
    const sim = await start();
    const zero = await connectReady(sim, { shard: [0, 2] });
    const one = await connectReady(sim, { shard: [1, 2] });
    clients.push(zero.client, one.client);
    sim.fault('cut', { shard: 1 });
    expect((await one.client.closed).code).toBe(1006);
    zero.client.send({ op: 1, d: 1 });
    expect(await zero.client.next()).toEqual({ op: 11 });
  });

  it('applies a fault without a shard to every open socket, identified or not', async () => {
    const sim = await start();
    const identified = await connectReady(sim);
    const fresh = await SimClient.connect(sim.wsUrl);
    clients.push(identified.client, fresh);
    sim.fault('close', { code: 4009 });
    expect((await identified.client.closed).code).toBe(4009);
    expect((await fresh.closed).code).toBe(4009);
  });

  it('rejects a close code a WebSocket cannot send as a usage error', async () => {
    const { s } = await ready();
    expect(() => s.fault('close', { code: 1006 })).toThrow(/close code/);
    expect(() => s.fault('close', { code: 5000 })).toThrow(/close code/);
  });
});
