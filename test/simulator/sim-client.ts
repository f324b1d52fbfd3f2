import { WebSocket } from 'ws';
import { request } from 'undici';
import { afterEach } from 'vitest';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator/index.js';

/** One frame as the test sees it. */
export interface Frame {
  op: number;
  d?: unknown;
  s?: number;
  t?: string;
  id?: string;
}

export interface Closed {
  code: number;
  reason: string;
}

/**
 * A minimal gateway client for tests: a real `ws` socket whose frames queue up so a test can read them in order
 * with `next()`, and whose close code is available as a promise.
 */
export class SimClient {
  readonly closed: Promise<Closed>;
  /** Text frames that were not JSON (fault `malformed_frame`), kept apart from the frames `next()` reads. */
  readonly malformed: string[] = [];
  readonly #frames: Frame[] = [];
  readonly #waiters: ((frame: Frame) => void)[] = [];

  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') }));
    });
    ws.on('message', (data) => {
      const text = (data as Buffer).toString('utf8');
      let frame: Frame;
      try {
        frame = JSON.parse(text) as Frame;
      } catch {
        this.malformed.push(text);
        return;
      }
      const waiter = this.#waiters.shift();
      if (waiter) waiter(frame);
      else this.#frames.push(frame);
    });
    ws.on('error', () => undefined);
  }

  static async connect(url: string): Promise<SimClient> {
    const ws = new WebSocket(url);
    const client = new SimClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return client;
  }

  /** The next unread frame; rejects if none arrives within `timeoutMs`. */
  next(timeoutMs = 2000): Promise<Frame> {
    const queued = this.#frames.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(onFrame), 1);
        reject(new Error(`no frame within ${timeoutMs} ms`));
      }, timeoutMs);
      const onFrame = (frame: Frame): void => {
        clearTimeout(timer);
        resolve(frame);
      };
      this.#waiters.push(onFrame);
    });
  }

  /** Resolves with the frames that arrive within `ms` (for asserting that nothing is sent). */
  async drain(ms: number): Promise<Frame[]> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return this.#frames.splice(0);
  }

  send(payload: unknown): void {
    this.ws.send(typeof payload === 'string' ? payload : JSON.stringify(payload));
  }

  /** Reads Hello, sends Identify with the simulator's current token, and returns the READY frame. */
  async identify(sim: Simulator, d: Record<string, unknown> = {}): Promise<Frame> {
    await this.expectHello();
    this.send({
      op: 2,
      d: { token: `QQBot ${sim.currentToken()}`, intents: 1 << 25, shard: [0, 1], ...d },
    });
    return this.next();
  }

  async expectHello(): Promise<Frame> {
    const hello = await this.next();
    if (hello.op !== 10) throw new Error(`expected Hello, got ${JSON.stringify(hello)}`);
    return hello;
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING)
      this.ws.terminate();
  }
}

/** Connects, identifies, and returns the client with its session id. */
export async function connectReady(
  sim: Simulator,
  d: Record<string, unknown> = {},
): Promise<{ client: SimClient; sessionId: string; ready: Frame }> {
  const client = await SimClient.connect(sim.wsUrl);
  const ready = await client.identify(sim, d);
  if (ready.t !== 'READY') throw new Error(`expected READY, got ${JSON.stringify(ready)}`);
  return { client, sessionId: (ready.d as { session_id: string }).session_id, ready };
}

/** A parsed JSON response body; tests read fields and compare them, so values stay `unknown`. */
export type JsonBody = Record<string, unknown>;

/** POSTs JSON to the simulator and returns status and parsed body. */
export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: JsonBody }> {
  const res = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, body: (text === '' ? {} : JSON.parse(text)) as JsonBody };
}

export async function getJson(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: JsonBody }> {
  const res = await request(url, { method: 'GET', headers });
  const text = await res.body.text();
  return { status: res.statusCode, body: (text === '' ? {} : JSON.parse(text)) as JsonBody };
}

/**
 * One simulator per test plus the clients the test opened, all closed after each test. `start` merges its
 * options over `defaults`.
 */
export function simulatorPerTest(defaults: SimulatorOptions = { heartbeatIntervalMs: 1000 }): {
  clients: SimClient[];
  start: (opts?: SimulatorOptions) => Promise<Simulator>;
} {
  let sim: Simulator | undefined;
  const clients: SimClient[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await sim?.close();
    sim = undefined;
  });
  return {
    clients,
    async start(opts = {}) {
      sim = await startSimulator({ ...defaults, ...opts });
      return sim;
    },
  };
}
