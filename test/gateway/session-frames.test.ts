import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { GatewaySession } from '../../src/gateway/session.js';
import { MemorySessionStore } from '../../src/gateway/session-store.js';
import { silentLogger } from '../../src/log.js';
import type { DispatchFrame } from '../../src/events/envelope.js';
import { eventually } from '../helpers/gateway.js';

/**
 * A bare WebSocket server that plays a scripted gateway, for frames the simulator never sends on purpose:
 * garbage, binary, oversize, unknown opcodes, server-sent heartbeat requests.
 */
async function scriptedGateway(onIdentify: (socket: WebSocket) => void): Promise<{
  url: string;
  received: unknown[];
  sockets: WebSocket[];
  close: () => Promise<void>;
}> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const received: unknown[] = [];
  const sockets: WebSocket[] = [];
  server.on('connection', (socket) => {
    sockets.push(socket);
    socket.send(JSON.stringify({ op: 10, d: { heartbeat_interval: 30_000 } }));
    socket.on('message', (data: Buffer) => {
      const frame = JSON.parse(data.toString('utf8')) as { op: number };
      received.push(frame);
      if (frame.op === 2) onIdentify(socket);
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`,
    received,
    sockets,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of server.clients) s.terminate();
        server.close(() => resolve());
      }),
  };
}

const ready = JSON.stringify({
  op: 0,
  s: 1,
  t: 'READY',
  d: { version: 1, session_id: 'sess-1', user: { id: 'u' }, shard: [0, 1] },
});
const dispatch = (s: number): string =>
  JSON.stringify({
    op: 0,
    s,
    t: 'GROUP_ADD_ROBOT',
    id: `GROUP_ADD_ROBOT:${s}`,
    d: { group_openid: 'G', op_member_openid: 'M', timestamp: 1 },
  });

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

function session(url: string, maxFrameBytes = 1024 * 1024) {
  const dispatched: DispatchFrame[] = [];
  const rejected: string[] = [];
  const s = new GatewaySession({
    shardId: 0,
    shardCount: 1,
    intents: 1 << 25,
    resolveGatewayUrl: () => Promise.resolve(url),
    tokens: { get: () => Promise.resolve('tok'), refresh: () => Promise.resolve('tok') },
    store: new MemorySessionStore(),
    logger: silentLogger(),
    maxFrameBytes,
    reconnectScheduleMs: [20],
    onDispatch: (frames) => {
      dispatched.push(...frames);
      return Promise.resolve();
    },
    hooks: { onRejectedFrame: (reason) => rejected.push(reason) },
  });
  cleanups.push(() => s.stop());
  return { s, dispatched, rejected };
}

describe('GatewaySession frame handling', () => {
  it('counts non-JSON, non-object and binary frames and keeps the session', async () => {
    const gw = await scriptedGateway((socket) => {
      socket.send(ready);
      socket.send('this is not json');
      socket.send('[1,2,3]');
      socket.send(Buffer.from([1, 2, 3]), { binary: true });
      socket.send(JSON.stringify({ op: 42 }));
      socket.send(dispatch(2));
    });
    cleanups.push(gw.close);
    const { s, dispatched, rejected } = session(gw.url);
    await s.start();
    await eventually(() => dispatched.length === 1, 'the valid dispatch after the garbage');
    expect(rejected).toEqual(['not_json', 'not_object', 'not_json']);
    expect(s.currentStatus).toBe('ready');
    expect(gw.sockets).toHaveLength(1);
  });

  it('sends the identify with the QQBot token prefix and answers a server op 1 with a heartbeat', async () => {
    const gw = await scriptedGateway((socket) => {
      socket.send(ready);
      socket.send(JSON.stringify({ op: 1 }));
    });
    cleanups.push(gw.close);
    const { s } = session(gw.url);
    await s.start();
    await eventually(() => gw.received.some((f) => (f as { op: number }).op === 1), 'heartbeat');
    expect(gw.received[0]).toEqual({ op: 2, d: { token: 'QQBot tok', intents: 1 << 25, shard: [0, 1] } });
    expect(gw.received.find((f) => (f as { op: number }).op === 1)).toEqual({ op: 1, d: 1 });
  });

  it('rejects a frame over the size cap without crashing and reconnects to resume', async () => {
    const gw = await scriptedGateway((socket) => {
      socket.send(ready);
      socket.send(JSON.stringify({ op: 0, s: 2, t: 'X', d: { pad: 'x'.repeat(5_000) } }));
    });
    cleanups.push(gw.close);
    const { s, rejected } = session(gw.url, 2_000);
    await s.start();
    await eventually(() => rejected.includes('too_large'), 'oversize rejected');
    await eventually(
      () => gw.received.some((f) => (f as { op: number }).op === 6),
      'a resume on the next connection',
    );
    expect(gw.received.find((f) => (f as { op: number }).op === 6)).toEqual({
      op: 6,
      d: { token: 'QQBot tok', session_id: 'sess-1', seq: 1 },
    });
  });

  it('ignores a RESUMED that answers an Identify (out of order), without its seq, and carries on', async () => {
    const gw = await scriptedGateway((socket) => {
      socket.send(JSON.stringify({ op: 0, s: 9, t: 'RESUMED', d: '' }));
      socket.send(ready);
      socket.send(dispatch(2));
    });
    cleanups.push(gw.close);
    const { s, dispatched } = session(gw.url);
    await s.start();
    await eventually(() => dispatched.length === 1, 'the dispatch after READY');
    expect(s.currentStatus).toBe('ready');
    // had the out-of-order RESUMED counted, the durable seq would be 9
    await eventually(() => s.snapshot().seq === 2, 'seq 2');
    expect(gw.sockets).toHaveLength(1);
  });

  it('accepts RESUMED with d as the empty string and stores its seq', async () => {
    let connections = 0;
    const gw = await scriptedGateway((socket) => {
      connections++;
      socket.send(ready);
      socket.send(dispatch(2));
    });
    cleanups.push(gw.close);
    const { s, dispatched } = session(gw.url);
    await s.start();
    await eventually(() => dispatched.length === 1, 'first dispatch');
    // the next connection resumes: answer with a replay and RESUMED d:""
    gw.sockets[0]!.terminate();
    await eventually(() => gw.received.some((f) => (f as { op: number }).op === 6), 'resume sent');
    const socket = gw.sockets[1]!;
    socket.send(dispatch(3));
    socket.send(JSON.stringify({ op: 0, s: 4, t: 'RESUMED', d: '' }));
    await eventually(() => s.currentStatus === 'resumed', 'RESUMED');
    await eventually(() => s.snapshot().seq === 4, 'seq 4');
    expect(dispatched.map((f) => f.s)).toEqual([2, 3]);
    expect(connections).toBe(1);
  });
});
