import { describe, expect, it } from 'vitest';
import {
  darkIntervals,
  darkTimeAfterFault,
  faultEntries,
  type Simulator,
  type TimelineEntry,
} from '../../src/simulator/index.js';
import { Timeline } from '../../src/simulator/timeline.js';
import { SimClient, connectReady, getJson, simulatorPerTest } from './sim-client.js';

const { clients, start } = simulatorPerTest();

/** The timeline without its clock readings, for comparing what happened in which order. */
function events(sim: Simulator): Omit<TimelineEntry, 'at' | 'seq'>[] {
  return sim.state().timeline.map(({ at: _at, seq: _seq, ...rest }) => rest);
}

async function resume(sim: Simulator, sessionId: string, seq: number): Promise<SimClient> {
  const client = await SimClient.connect(sim.wsUrl);
  clients.push(client);
  await client.expectHello();
  client.send({ op: 6, d: { token: `QQBot ${sim.currentToken()}`, session_id: sessionId, seq } });
  return client;
}

describe('Timeline ring buffer', () => {
  it('keeps the last `capacity` entries in order, counts what it dropped, and hands out copies', () => {
    let now = 100;
    const timeline = new Timeline(3, () => now++);
    for (let i = 0; i < 5; i++) timeline.record({ event: 'close', shard: 0, connection: i });
    const entries = timeline.entries();
    expect(entries.map((e) => [e.seq, e.at, e.connection])).toEqual([
      [3, 102, 2],
      [4, 103, 3],
      [5, 104, 4],
    ]);
    expect(timeline.dropped).toBe(2);
    entries[0]!.shard = 99;
    expect(timeline.entries()[0]!.shard).toBe(0);
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new Timeline(0)).toThrow(/positive integer/);
  });
});

describe('simulator timeline', () => {
  it('records identify, READY, the fault, the close, the resume and RESUMED of one shard, in order', async () => {
    const sim = await start();
    const { client, sessionId } = await connectReady(sim);
    clients.push(client);
    sim.fault('reconnect');
    await client.closed;
    const again = await resume(sim, sessionId, 1);
    expect(await again.next()).toMatchObject({ t: 'RESUMED' });
    expect(events(sim)).toEqual([
      { event: 'identify_received', shard: 0, connection: 1 },
      { event: 'ready_sent', shard: 0, connection: 1, session_id: sessionId },
      { event: 'fault', shard: 0, connection: 1, fault: 'reconnect' },
      { event: 'close', shard: 0, connection: 1, code: 4009, by: 'server' },
      { event: 'resume_received', shard: 0, connection: 2, session_id: sessionId },
      { event: 'resumed_sent', shard: 0, connection: 2, session_id: sessionId },
    ]);
    const timeline = sim.state().timeline;
    const seqs = timeline.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    const [fault] = faultEntries(timeline, { shard: 0, kind: 'reconnect' });
    const dark = darkTimeAfterFault(timeline, fault!);
    const resumedAt = timeline.find((e) => e.event === 'resumed_sent')!.at;
    const resumeAt = timeline.find((e) => e.event === 'resume_received')!.at;
    expect(dark).toMatchObject({
      shard: 0,
      from: fault!.at,
      darkMs: resumedAt - fault!.at,
      up: { event: 'resumed_sent', at: resumedAt },
      handshake: { event: 'resume_received', at: resumeAt, ms: resumeAt - fault!.at },
    });
  });

  it('names the shard of each socket, and of a dropped link and a client close', async () => {
    const sim = await start();
    const a = await connectReady(sim, { shard: [0, 2] });
    const b = await connectReady(sim, { shard: [1, 2] });
    clients.push(a.client, b.client);
    sim.fault('cut', { shard: 1 });
    a.client.close();
    await sim.waitFor((s) => s.openConnections === 0);
    const closes = events(sim).filter((e) => e.event === 'close' || e.event === 'fault');
    expect(closes).toEqual([
      { event: 'fault', shard: 1, connection: 2, fault: 'cut' },
      { event: 'close', shard: 1, connection: 2, code: 1006, by: 'server' },
      { event: 'close', shard: 0, connection: 1, code: 1006, by: 'client' },
    ]);
  });

  it('records the code of a close fault, a half-dead link, and an op 9 to a session with no socket', async () => {
    const sim = await start();
    const { client } = await connectReady(sim);
    clients.push(client);
    sim.fault('half_dead');
    sim.fault('close', { code: 4009 });
    await client.closed;
    const second = await connectReady(sim);
    clients.push(second.client);
    second.client.close();
    await sim.waitFor((s) => s.openConnections === 0);
    sim.fault('invalid_session', { shard: 0 });
    const faults = faultEntries(sim.state().timeline).map(({ at: _at, seq: _seq, ...rest }) => rest);
    expect(faults).toEqual([
      { event: 'fault', shard: 0, connection: 1, fault: 'half_dead' },
      { event: 'fault', shard: 0, connection: 1, fault: 'close', code: 4009 },
      {
        event: 'fault',
        shard: 0,
        connection: null,
        fault: 'invalid_session',
        session_id: second.sessionId,
      },
    ]);
  });

  it('a Resume of an unknown session and a malformed Identify are recorded with shard null', async () => {
    const sim = await start();
    await resume(sim, 'no-such-session', 1);
    const client = await SimClient.connect(sim.wsUrl);
    clients.push(client);
    await client.expectHello();
    client.send({ op: 2, d: 'not an object' });
    await client.closed;
    expect(events(sim)).toEqual([
      { event: 'resume_received', shard: null, connection: 1, session_id: 'no-such-session' },
      { event: 'identify_received', shard: null, connection: 2 },
      { event: 'close', shard: null, connection: 2, code: 4002, by: 'server' },
    ]);
  });

  it('GET /_sim/state carries the timeline', async () => {
    const sim = await start();
    const { client } = await connectReady(sim);
    clients.push(client);
    const { body } = await getJson(`${sim.origin}/_sim/state`);
    expect(body.timelineDropped).toBe(0);
    expect(body.timeline).toMatchObject([
      { seq: 1, event: 'identify_received', shard: 0, connection: 1 },
      { seq: 2, event: 'ready_sent', shard: 0, connection: 1 },
    ]);
    expect(typeof (body.timeline as TimelineEntry[])[0]!.at).toBe('number');
  });

  it('counts a half-dead link as dark from the fault until the next RESUMED, not from its close', async () => {
    const sim = await start();
    const { client, sessionId } = await connectReady(sim);
    clients.push(client);
    sim.fault('half_dead');
    await new Promise((resolve) => setTimeout(resolve, 30));
    client.close();
    const again = await resume(sim, sessionId, 1);
    await again.next();
    const timeline = sim.state().timeline;
    const fault = faultEntries(timeline, { kind: 'half_dead' })[0]!;
    const resumed = timeline.find((e) => e.event === 'resumed_sent')!;
    expect(darkTimeAfterFault(timeline, fault).darkMs).toBe(resumed.at - fault.at);
    expect(darkIntervals(timeline, { shard: 0, from: fault.at, to: resumed.at + 5 })).toEqual([
      { from: fault.at, to: resumed.at, open: false },
    ]);
  });
});
