/**
 * Hostile frames from the gateway (docs/design.md §7): a scripted WebSocket server sends frames of any shape — text
 * that is not JSON, invalid UTF-8, binary, JSON of the wrong shape, frames over the size cap, well-formed frames
 * with hostile fields — and after each one the session must still deliver a probe dispatch. A frame that ends
 * the connection (op 7, op 9, invalid UTF-8, over the cap) is allowed to, as long as the session reconnects and
 * resumes; nothing may throw out of the session, stop it or mark it fatal. Every dispatch the session hands on is
 * normalized as the bridge would, and must be read, not given up on: `data` keeps every field of `d`, and a valid
 * frame (each probe, and valid frames of every catalog event among the hostile ones) becomes exactly its documented
 * envelope. Each run needs a socket round trip, so this property has fewer runs than the pure ones.
 */
import type { AddressInfo } from 'node:net';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import type { DispatchFrame } from '../../src/events/envelope.js';
import { normalize } from '../../src/events/normalize.js';
import { GatewaySession, type ShardStatus } from '../../src/gateway/session.js';
import { MemorySessionStore } from '../../src/gateway/session-store.js';
import { silentLogger } from '../../src/log.js';
import { schemaErrors } from '../events/envelope-schema.js';
import { CTX } from '../events/fixtures.js';
import {
  expectedDataOfInput,
  expectedEnvelope,
  UNREADABLE_NOTE,
  validFrame,
} from '../events/valid-frames.js';

const RUNS = 120;
const MAX_FRAME_BYTES = 4096;

/** What the scripted gateway sends: text (possibly not valid UTF-8) or binary. */
interface HostileFrame {
  readonly data: string | Uint8Array;
  readonly binary: boolean;
  readonly label: string;
  /** The id of a valid dispatch, whose envelope is then checked field by field. */
  readonly validId?: string;
}

/** A gateway that plays Hello → READY / RESUMED and acknowledges heartbeats, on every connection. */
class ScriptedGateway {
  readonly server: WebSocketServer;
  /** The socket whose handshake completed last: where hostile frames and probes go. */
  current: WebSocket | undefined;
  seq = 1;
  connections = 0;

  private constructor(server: WebSocketServer) {
    this.server = server;
    server.on('connection', (socket) => {
      this.connections += 1;
      socket.send(JSON.stringify({ op: 10, d: { heartbeat_interval: 30_000 } }));
      socket.on('message', (raw: Buffer) => {
        let frame: { op?: unknown };
        try {
          frame = JSON.parse(raw.toString('utf8')) as { op?: unknown };
        } catch {
          return;
        }
        if (frame.op === 1) socket.send(JSON.stringify({ op: 11 }));
        if (frame.op === 2) {
          socket.send(
            JSON.stringify({ op: 0, s: this.seq, t: 'READY', d: { session_id: 'sess-fuzz', shard: [0, 1] } }),
          );
          this.current = socket;
        }
        if (frame.op === 6) {
          socket.send(JSON.stringify({ op: 0, s: this.seq, t: 'RESUMED', d: '' }));
          this.current = socket;
        }
      });
      socket.on('error', () => undefined);
    });
  }

  static async start(): Promise<ScriptedGateway> {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => server.once('listening', resolve));
    return new ScriptedGateway(server);
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    for (const socket of this.server.clients) socket.terminate();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const json = (value: unknown): string => JSON.stringify(value);
const anyJson = fc.jsonValue({ depthSize: 'small' });

const hostileFrame: fc.Arbitrary<HostileFrame> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }).map((data) => ({ data, binary: false, label: 'text' })),
  fc.uint8Array({ maxLength: 300 }).map((data) => ({ data, binary: true, label: 'binary' })),
  // Arbitrary bytes as a text frame: mostly invalid UTF-8, which ws answers by closing with 1007.
  fc.uint8Array({ minLength: 1, maxLength: 100 }).map((data) => ({ data, binary: false, label: 'raw text' })),
  anyJson.map((value) => ({ data: json(value), binary: false, label: 'json' })),
  fc
    .record(
      {
        op: fc.oneof(fc.constantFrom(0, 1, 2, 6, 7, 9, 10, 11, 12, 13, -1, 1e300), anyJson),
        s: fc.oneof(fc.integer(), fc.double(), anyJson),
        t: fc.oneof(
          fc.constantFrom('READY', 'RESUMED', 'GROUP_ADD_ROBOT', 'C2C_MESSAGE_CREATE', ''),
          anyJson,
        ),
        id: anyJson,
        d: anyJson,
      },
      { requiredKeys: ['op'] },
    )
    .map((frame) => ({ data: json(frame), binary: false, label: 'frame' })),
  validFrame
    .filter((frame) => json(frame).length <= MAX_FRAME_BYTES)
    .map((frame) => ({ data: json(frame), binary: false, label: 'valid', validId: frame.id! })),
  fc.integer({ min: MAX_FRAME_BYTES + 1, max: MAX_FRAME_BYTES * 3 }).map((size) => ({
    data: json({ op: 0, s: 2, t: 'X', d: { pad: 'x'.repeat(size) } }),
    binary: false,
    label: 'oversize',
  })),
);

const HEALTHY: readonly ShardStatus[] = ['ready', 'resumed'];

describe('GatewaySession on hostile frames (property)', () => {
  let gateway: ScriptedGateway;
  let session: GatewaySession;
  const dispatched: DispatchFrame[] = [];
  const envelopeProblems: string[] = [];
  /** Ids of the valid dispatches sent: the probes' and the valid hostile frames'. */
  const validIds = new Set<string>();
  /** Ids of the valid dispatches whose envelope was checked field by field. */
  const validChecked = new Set<string>();
  const statuses: ShardStatus[] = [];
  const rejected = new Set<string>();

  beforeAll(async () => {
    gateway = await ScriptedGateway.start();
    session = new GatewaySession({
      shardId: 0,
      shardCount: 1,
      intents: 1 << 25,
      resolveGatewayUrl: () => Promise.resolve(gateway.url),
      tokens: { get: () => Promise.resolve('tok'), refresh: () => Promise.resolve('tok') },
      store: new MemorySessionStore(),
      logger: silentLogger(),
      maxFrameBytes: MAX_FRAME_BYTES,
      reconnectScheduleMs: [5, 10],
      invalidSessionDelayMs: [1, 5],
      onDispatch: (frames) => {
        for (const frame of frames) {
          // What the bridge does with every dispatch: normalize it. Hostile fields must still make an envelope.
          const ctx = { ...CTX, receivedAt: new Date() };
          const { envelope } = normalize(frame, ctx);
          const problems = schemaErrors(JSON.parse(JSON.stringify(envelope)));
          if (envelope.malformed?.some((note) => UNREADABLE_NOTE.test(note))) problems.push('not read');
          if (!isDeepStrictEqual(envelope.data, expectedDataOfInput(frame))) problems.push('data not mapped');
          if (typeof frame.id === 'string' && validIds.has(frame.id)) {
            validChecked.add(frame.id);
            if (!isDeepStrictEqual(envelope, expectedEnvelope(frame, ctx)))
              problems.push(`valid frame became ${JSON.stringify(envelope)}`);
          }
          if (problems.length > 0) envelopeProblems.push(`${JSON.stringify(frame)}: ${problems.join('; ')}`);
          dispatched.push(frame);
        }
        return Promise.resolve();
      },
      hooks: {
        onStatus: (status) => statuses.push(status),
        onRejectedFrame: (reason) => rejected.add(reason),
      },
    });
    await session.start();
  });

  afterAll(async () => {
    await session.stop();
    await gateway.close();
  });

  async function until(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }

  /** Sends a dispatch on the current connection until the session hands it on (a resend after a reconnect). */
  async function probe(n: number): Promise<void> {
    const id = `GROUP_ADD_ROBOT:probe-${n}`;
    validIds.add(id);
    for (let attempt = 0; attempt < 5; attempt++) {
      await until(
        () => HEALTHY.includes(session.currentStatus) && gateway.current?.readyState === 1,
        'a healthy session',
      );
      gateway.seq += 1;
      gateway.current!.send(
        json({
          op: 0,
          s: gateway.seq,
          t: 'GROUP_ADD_ROBOT',
          id,
          d: { group_openid: 'G', op_member_openid: 'M', timestamp: 1699240248 },
        }),
      );
      try {
        await until(() => dispatched.some((f) => f.id === id), `probe ${n}`, 1_000);
        return;
      } catch {
        // The connection was ending as the probe went out; wait for the next one and send it again.
      }
    }
    throw new Error(`probe ${n} never came through`);
  }

  it('keeps delivering after any frame, reconnecting and resuming where a frame ends the connection', async () => {
    await probe(0);
    let n = 0;
    await fc.assert(
      fc.asyncProperty(hostileFrame, async (frame) => {
        n += 1;
        if (frame.validId !== undefined) validIds.add(frame.validId);
        gateway.current!.send(frame.data, { binary: frame.binary });
        // Give the frame time to be read before the probe, so the probe really comes after it.
        await new Promise((resolve) => setTimeout(resolve, 2));
        await probe(n);
        expect(['fatal', 'stopped']).not.toContain(session.currentStatus);
      }),
      { numRuns: RUNS },
    );
    expect(envelopeProblems).toEqual([]);
    // Beyond the RUNS + 1 probes, some valid hostile frames were checked (one run in eight sends one: missing them
    // all in 120 runs has a probability below 1e-6).
    expect(validChecked.size).toBeGreaterThan(RUNS + 1);
    expect(statuses).not.toContain('fatal');
    // The runs reached the interesting paths: frames were counted as rejected, and some ended a connection
    // (oversize, invalid UTF-8, op 7/9), after which the session came back. With 120 runs, missing any of
    // these has a probability below 1e-9.
    expect([...rejected].sort()).toEqual(['not_json', 'not_object', 'too_large']);
    expect(gateway.connections).toBeGreaterThan(1);
  }, 60_000);
});
