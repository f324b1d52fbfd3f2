/**
 * The benchmark's HTTP receiver, run in its own process (forked by {@link ReceiverProcess}) so that its CPU is not
 * taken from the pipe it measures, nor the pipe's from it. A minimal `node:http` server: reads the body, notes the
 * arrival time, answers 200 with no body (in mode `reply`, an @-message is answered with one reply for the bridge
 * to send). It serves every target: target `i` POSTs to `/t/<i>`.
 *
 * Every 10 ms it tells the bench how many 2xx deliveries it has made in total (the bench's closed-loop load
 * generators steer by it); per-phase statistics are kept here and sent on request.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BENCH_EVENT_TYPE, nowMs, readMarks, type Marks } from './payload.js';
import type { PhaseStats, ReceiverCommand, ReceiverMessage, ReceiverMode } from './receiver-protocol.js';
import { summarize } from './stats.js';

const COUNT_INTERVAL_MS = 10;
/** How an envelope of the benchmark's @-message reads, found without parsing the JSON (mode `reply`). */
const REPLY_TO = `"qq_type":"${BENCH_EVENT_TYPE}"`;

class Phase {
  delivered = 0;
  duplicates = 0;
  untracked = 0;
  refused = 0;
  firstAtMs = NaN;
  lastAtMs = NaN;
  private latencies = new Float64Array(1 << 16);
  private latencyCount = 0;
  private readonly seen: Uint8Array;

  constructor(
    private readonly targets: number,
    private readonly maxSeq: number,
  ) {
    this.seen = new Uint8Array(targets * (maxSeq + 1));
  }

  record(target: number, { seq, sentMs }: Marks, atMs: number): void {
    if (seq === 0) return; // warm-up traffic
    if (!(seq >= 1 && seq <= this.maxSeq) || target < 0 || target >= this.targets) {
      this.untracked++;
      return;
    }
    this.delivered++;
    if (Number.isNaN(this.firstAtMs)) this.firstAtMs = atMs;
    this.lastAtMs = atMs;
    const slot = target * (this.maxSeq + 1) + seq;
    if (this.seen[slot] === 1) {
      this.duplicates++;
      return;
    }
    this.seen[slot] = 1;
    if (Number.isNaN(sentMs)) return;
    if (this.latencyCount === this.latencies.length) {
      const grown = new Float64Array(this.latencies.length * 2);
      grown.set(this.latencies);
      this.latencies = grown;
    }
    this.latencies[this.latencyCount++] = atMs - sentMs;
  }

  stats(expectedPerTarget: number): PhaseStats {
    let missing = 0;
    const upTo = Math.min(expectedPerTarget, this.maxSeq);
    for (let target = 0; target < this.targets; target++) {
      const base = target * (this.maxSeq + 1);
      for (let seq = 1; seq <= upTo; seq++) if (this.seen[base + seq] !== 1) missing++;
    }
    return {
      delivered: this.delivered,
      duplicates: this.duplicates,
      missing,
      untracked: this.untracked,
      refused: this.refused,
      latency: summarize(this.latencies.subarray(0, this.latencyCount)),
      firstAtMs: this.firstAtMs,
      lastAtMs: this.lastAtMs,
    };
  }
}

let mode: ReceiverMode = 'ok';
let phase = new Phase(1, 0);
let delivered = 0;

function targetOf(url: string | undefined): number {
  // `/t/<i>`; anything else counts as target 0 (the direct baseline posts to /t/0 too)
  return url !== undefined && url.startsWith('/t/') ? parseInt(url.slice(3), 10) : 0;
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    if (mode === '503') {
      phase.refused++;
      res.writeHead(503, { 'content-length': '0' });
      res.end();
      return;
    }
    const atMs = nowMs();
    delivered++;
    const body = Buffer.concat(chunks).toString('utf8');
    const marks = readMarks(body);
    phase.record(targetOf(req.url), marks, atMs);
    if (mode === 'reply' && body.includes(REPLY_TO)) {
      const answer = `{"reply":{"content":"${marks.seq}"}}`;
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
      res.end(answer);
      return;
    }
    res.writeHead(200, { 'content-length': '0' });
    res.end();
  });
}

const server = createServer({ keepAliveTimeout: 60_000 }, handle);
let port = 0;

function listen(): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      port = (server.address() as AddressInfo).port;
      resolve();
    });
  });
}

async function setMode(next: ReceiverMode): Promise<void> {
  if (next === mode) return;
  if (next === 'refuse') {
    // Stop listening and drop the keep-alive sockets: new connections get ECONNREFUSED.
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  } else if (mode === 'refuse') {
    await listen(); // the same port: nothing else on loopback takes it in the few seconds it is closed
  }
  mode = next;
}

function send(message: ReceiverMessage): void {
  process.send?.(message);
}

async function onCommand(command: ReceiverCommand): Promise<void> {
  try {
    switch (command.cmd) {
      case 'reset':
        phase = new Phase(command.targets, command.maxSeq);
        send({ type: 'reply', id: command.id });
        return;
      case 'stats':
        send({ type: 'reply', id: command.id, stats: phase.stats(command.expectedPerTarget) });
        return;
      case 'mode':
        await setMode(command.mode);
        send({ type: 'reply', id: command.id });
        return;
    }
  } catch (err) {
    send({ type: 'reply', id: command.id, error: err instanceof Error ? err.message : String(err) });
  }
}

process.on('message', (command: ReceiverCommand) => void onCommand(command));
// The bench is gone (finished, crashed or killed): nothing left to receive for.
process.on('disconnect', () => process.exit(0));

await listen();
let lastSent = -1;
setInterval(() => {
  if (delivered === lastSent) return;
  lastSent = delivered;
  send({ type: 'count', delivered });
}, COUNT_INTERVAL_MS);
send({ type: 'ready', port });
