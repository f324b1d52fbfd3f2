import type { RawData } from 'ws';
import { describeError } from '../errors.js';
import type { DispatchFrame } from '../events/envelope.js';
import type { Logger } from '../log.js';
import { OP, type GatewayFrame } from '../qq/opcodes.js';
import { Connection } from './connection.js';
import { DurablePump } from './durable-pump.js';
import { readFrame } from './frame-reader.js';
import { Handshake } from './handshake.js';
import type { Ending } from './reconnect-plan.js';
import { Reconnector } from './reconnector.js';
import { SessionRecord } from './session-record.js';
import { SessionSaver } from './session-saver.js';
import { SessionState, type ShardStatus } from './session-state.js';
import type { GatewaySessionOptions } from './session-options.js';
import { stopSession } from './session-stop.js';

export type { ShardStatus } from './session-state.js';
export type { GatewaySessionHooks, GatewaySessionOptions, TokenSource } from './session-options.js';
export type { ReconnectReason } from './reconnect-plan.js';
export { MIN_HEALTHY_FOR_INSTANT_RECONNECT_MS } from './reconnect-plan.js';
export { DEFAULT_MAX_PENDING_FRAMES } from './durable-pump.js';

/**
 * One shard's gateway session: Hello → Identify/Resume → READY/RESUMED → heartbeats, and every way it can end.
 * Frames are read by frame-reader.ts, the order of protocol events is checked by session-state.ts, the handshake
 * (heartbeat, Identify or Resume, op 9) is handshake.ts, dispatches become durable through durable-pump.ts,
 * reconnector.ts decides (with reconnect-plan.ts) how to come back once a connection ends, and session-stop.ts
 * runs the steps of stop(); this class wires them. Each connection (connection.ts) has one AbortController, under
 * whose signal every timer of the connection (handshake timeout, heartbeat, watchdog) runs.
 *
 * Two sequence numbers are tracked (session-record.ts). `receivedSeq` is the newest `s` seen and goes into
 * heartbeats. The durable seq (the pump's) is the newest `s` whose dispatch (and every earlier one) has been
 * enqueued; only it is persisted and sent in Resume, so a crash between receiving and enqueueing makes QQ replay
 * the event rather than lose it.
 *
 * A connection ends either by {@link GatewaySession.end} (our decision: op 7, op 9, the watchdog, a timeout, a
 * failed enqueue) or by its socket closing (the server or the network); both abort the connection's signal, and
 * the socket's close event is the one place that decides what follows ({@link GatewaySession.finish}).
 */
export class GatewaySession {
  private readonly state: SessionState;
  private connection: Connection | undefined;
  private readonly record: SessionRecord;
  private readonly pump: DurablePump<Connection>;
  private readonly saver: SessionSaver;
  private readonly handshake: Handshake;
  private readonly reconnector: Reconnector;
  private stopped = false;
  private readonly log: Logger;
  private readonly shard: [number, number];

  constructor(private readonly options: GatewaySessionOptions) {
    const random = options.random ?? Math.random;
    this.shard = [options.shardId, options.shardCount];
    this.log = options.logger.child({ component: 'gateway', shardId: options.shardId });
    this.state = new SessionState(this.log, (status) => options.hooks?.onStatus?.(status));
    this.pump = new DurablePump<Connection>({
      shard: this.shard,
      onDispatch: options.onDispatch,
      onDurable: () => this.saver.schedule(),
      onFailed: (conn, error) =>
        this.end(conn, { reason: 'dispatch_failed', action: 'resume', minDelayMs: 0 }, error),
      maxPendingFrames: options.maxPendingFrames,
      log: this.log,
    });
    this.record = new SessionRecord(this.pump);
    this.saver = new SessionSaver({
      shardId: options.shardId,
      store: options.store,
      current: () => this.record.persistable(),
      logger: this.log,
      onFailure: (error) => options.hooks?.onSaveFailure?.(error),
      retryDelayMs: options.saveRetryDelayMs,
      intervalMs: options.saveIntervalMs,
    });
    const parts = { session: options, random, log: this.log, state: this.state };
    this.reconnector = new Reconnector({
      ...parts,
      connect: () => this.connect(),
      stopped: () => this.stopped,
      hasSession: () => this.record.sessionId !== undefined,
      dropSession: () => this.dropSession(),
    });
    this.handshake = new Handshake({
      ...parts,
      shard: this.shard,
      record: this.record,
      onHealthy: () => this.reconnector.healthy(),
      beat: (conn) => this.sendHeartbeat(conn),
      end: (conn, ending, detail) => this.end(conn, ending, detail),
    });
  }

  /** Loads any persisted session (to RESUME it) and connects. Returns once the first attempt is under way. */
  async start(): Promise<void> {
    const persisted = this.options.fresh ? undefined : await this.options.store.load(this.options.shardId);
    if (persisted) {
      this.record.restore(persisted);
      this.log.info({ seq: persisted.seq }, 'found a persisted session; will resume it');
    }
    this.connect();
  }

  /**
   * Stops reading frames, waits for dispatches already received to become durable, persists the session and
   * closes the socket with a resumable code, so the next process can RESUME. With `persist: false` nothing is
   * written to the store (a successor session owns the stored state now), the rest is the same; a save already in
   * flight when stop() is called cannot be recalled, so stop() resolves only once it has landed, and a successor's
   * save after that wins. Every step runs even if an earlier one throws; the first error is rethrown at the end.
   */
  async stop(options: { persist?: boolean } = {}): Promise<void> {
    this.stopped = true;
    const conn = this.connection;
    this.connection = undefined;
    const { log, reconnector, saver, pump, state } = this;
    await stopSession({ conn, persist: options.persist !== false, log, reconnector, saver, pump, state });
  }

  get currentStatus(): ShardStatus {
    return this.state.status;
  }

  /** Dispatches received and not yet handed to onDispatch. */
  get pendingDispatches(): number {
    return this.pump.size;
  }

  /** The current connection's signal, aborted (with every timer of the connection) once it ends; for tests. */
  get connectionSignal(): AbortSignal | undefined {
    return this.connection?.signal;
  }

  /** A snapshot for `/readyz` and tests; `saveFailing` while the last save of the session and seq failed. */
  snapshot(): {
    shard: [number, number];
    status: ShardStatus;
    sessionId?: string;
    seq: number | null;
    saveFailing: boolean;
    sessionStartedAt?: number;
  } {
    const { sessionId, startedAt } = this.record;
    return {
      shard: this.shard,
      status: this.state.status,
      ...(sessionId ? { sessionId } : {}),
      seq: this.pump.durableSeq,
      saveFailing: this.saver.failing,
      ...(startedAt !== undefined ? { sessionStartedAt: startedAt } : {}),
    };
  }

  private connect(): void {
    if (this.stopped) return;
    this.state.fire('connect');
    void this.open().catch((err: unknown) => this.reconnector.attemptFailed(err));
  }

  private async open(): Promise<void> {
    const url = await this.options.resolveGatewayUrl({ rediscover: this.reconnector.rediscover });
    if (this.stopped) return;
    const handshakeTimeoutMs = this.options.handshakeTimeoutMs ?? 30_000;
    const maxFrameBytes = this.options.maxFrameBytes ?? 1024 * 1024;
    const conn = new Connection(url, { maxFrameBytes, handshakeTimeoutMs, log: this.log });
    this.connection = conn;
    this.handshake.begin(conn, handshakeTimeoutMs);
    conn.listen({
      message: (data, isBinary) => this.onMessage(conn, data, isBinary),
      close: (code, reason) => this.finish(conn, code, reason),
      oversize: () => this.options.hooks?.onRejectedFrame?.('too_large', ''),
    });
  }

  private onMessage(conn: Connection, data: RawData, isBinary: boolean): void {
    conn.heartbeat?.alive();
    const read = readFrame(data, isBinary);
    if (!read.ok) {
      this.options.hooks?.onRejectedFrame?.(read.reason, read.sample);
      this.log.warn(
        { reason: read.reason, sample: read.sample },
        'ignored a gateway frame that is not a JSON object',
      );
      return;
    }
    const f = read.frame;
    switch (f.op) {
      case OP.HELLO:
        return this.handshake.hello(conn, f.d);
      case OP.DISPATCH:
        return this.onDispatchFrame(conn, f);
      case OP.HEARTBEAT:
        return this.sendHeartbeat(conn);
      case OP.HEARTBEAT_ACK:
        return;
      case OP.RECONNECT:
        this.log.info('gateway asked for a reconnect (op 7); will resume');
        return this.end(
          conn,
          { reason: 'op7', action: 'resume', minDelayMs: 0 },
          'server requested reconnect',
        );
      case OP.INVALID_SESSION:
        return this.handshake.invalidSession(conn, f.d === true);
      default:
        this.log.debug({ op: f.op }, 'ignored a frame with an unknown opcode');
    }
  }

  private onDispatchFrame(conn: Connection, f: Partial<GatewayFrame>): void {
    const s = typeof f.s === 'number' && Number.isSafeInteger(f.s) ? f.s : null;
    const t = typeof f.t === 'string' && f.t !== '' ? f.t : 'UNKNOWN';
    const control = t === 'READY' || t === 'RESUMED';
    // an out-of-order READY/RESUMED is dropped, seq and all
    if (control && !this.handshake.answered(conn, t, f.d, s)) return;
    if (s !== null) this.record.receivedSeq = s;
    const frame: DispatchFrame = { op: 0, t, s, d: f.d, ...(typeof f.id === 'string' ? { id: f.id } : {}) };
    this.pump.push(conn, frame, control);
  }

  /** Ends the session's current connection for a reason we chose ({@link Connection.end}); the first reason wins. */
  private end(conn: Connection, ending: Ending, detail: string): void {
    if (conn === this.connection) conn.end(ending, detail);
  }

  /** The socket closed: the one place every connection passes through once, and that decides what follows. */
  private finish(conn: Connection, code: number, reason: string): void {
    conn.abort.abort();
    if (conn !== this.connection) return;
    this.connection = undefined;
    if (this.stopped) return;
    this.reconnector.closed(conn, code, reason);
  }

  /** The session is given up (a new one will be identified): forgotten here and in the store. */
  private dropSession(): void {
    this.record.drop();
    void this.options.store.clear(this.options.shardId).catch((err: unknown) => {
      this.log.warn({ err: describeError(err) }, 'could not clear the persisted session');
    });
  }

  private sendHeartbeat(conn: Connection): void {
    if (!conn.signal.aborted) conn.send({ op: OP.HEARTBEAT, d: this.record.receivedSeq });
  }
}
