import { WebSocket, type RawData } from 'ws';
import type { DispatchFrame } from '../events/envelope.js';
import type { Logger } from '../log.js';
import { OP, type GatewayFrame } from '../qq/opcodes.js';
import { timeoutUnder } from '../util/abortable.js';
import { Connection } from './connection.js';
import { DurablePump } from './durable-pump.js';
import { isOversizeFrameError, readFrame } from './frame-reader.js';
import { startHelloHeartbeat } from './heartbeat.js';
import { closeOutcome, ReconnectPlanner, type Ending, type ReconnectReason } from './reconnect-plan.js';
import { SessionSaver } from './session-saver.js';
import { SessionState, type ShardStatus } from './session-state.js';
import type { GatewaySessionOptions } from './session-options.js';

export type { ShardStatus } from './session-state.js';
export type { GatewaySessionHooks, GatewaySessionOptions, TokenSource } from './session-options.js';
export type { ReconnectReason } from './reconnect-plan.js';
export { MIN_HEALTHY_FOR_INSTANT_RECONNECT_MS } from './reconnect-plan.js';
export { DEFAULT_MAX_PENDING_FRAMES } from './durable-pump.js';

/**
 * One shard's gateway session: Hello → Identify/Resume → READY/RESUMED → heartbeats, and every way it can end.
 * Frames are read by frame-reader.ts, the order of protocol events is checked by session-state.ts, dispatches
 * become durable through durable-pump.ts, and reconnect-plan.ts decides how to come back; this class wires them.
 *
 * Two sequence numbers are tracked. `receivedSeq` is the newest `s` seen and goes into heartbeats. The durable
 * seq (the pump's) is the newest `s` whose dispatch (and every earlier one) has been enqueued; only it is persisted
 * and sent in Resume, so a crash between receiving and enqueueing makes QQ replay the event rather than lose it.
 *
 * A connection ends either by {@link GatewaySession.end} (our decision: op 7, op 9, the watchdog, a timeout, a
 * failed enqueue) or by its socket closing (the server or the network); both abort the connection's signal, and
 * the socket's close event is the one place that decides what follows ({@link GatewaySession.finish}).
 */
export class GatewaySession {
  private readonly state: SessionState;
  private connection: Connection | undefined;
  private sessionId: string | undefined;
  /** Epoch ms of the READY that created the current session id; undefined when unknown. */
  private sessionStartedAt: number | undefined;
  private receivedSeq: number | null = null;
  private readonly pump: DurablePump<Connection>;
  private readonly saver: SessionSaver;
  private readonly planner: ReconnectPlanner;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly random: () => number;
  private readonly log: Logger;
  private readonly shard: [number, number];

  constructor(private readonly options: GatewaySessionOptions) {
    this.random = options.random ?? Math.random;
    this.shard = [options.shardId, options.shardCount];
    this.log = options.logger.child({ component: 'gateway', shardId: options.shardId });
    this.state = new SessionState(this.log, (status) => options.hooks?.onStatus?.(status));
    this.planner = new ReconnectPlanner({
      scheduleMs: options.reconnectScheduleMs,
      random: this.random,
      maxResumeFailures: options.maxResumeFailures,
      minHealthyForInstantMs: options.instantReconnectMinHealthyMs,
    });
    this.saver = new SessionSaver({
      shardId: options.shardId,
      store: options.store,
      current: () => {
        const seq = this.pump.durableSeq;
        if (this.sessionId === undefined || seq === null) return undefined;
        const startedAt = this.sessionStartedAt;
        return { sessionId: this.sessionId, seq, ...(startedAt !== undefined ? { startedAt } : {}) };
      },
      logger: this.log,
      onFailure: (error) => options.hooks?.onSaveFailure?.(error),
      retryDelayMs: options.saveRetryDelayMs,
    });
    this.pump = new DurablePump<Connection>({
      shard: this.shard,
      onDispatch: options.onDispatch,
      onDurable: () => this.saver.schedule(),
      onFailed: (conn, error) =>
        this.end(conn, { reason: 'dispatch_failed', action: 'resume', minDelayMs: 0 }, error),
      maxPendingFrames: options.maxPendingFrames,
      log: this.log,
    });
  }

  /** Loads any persisted session (to RESUME it) and connects. Returns once the first attempt is under way. */
  async start(): Promise<void> {
    const persisted = this.options.fresh ? undefined : await this.options.store.load(this.options.shardId);
    if (persisted) {
      this.sessionId = persisted.sessionId;
      this.sessionStartedAt = persisted.startedAt;
      this.pump.restore(persisted.seq);
      this.receivedSeq = persisted.seq;
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
    const errors: unknown[] = [];
    const step = async (what: string, run: () => unknown): Promise<void> => {
      try {
        await run();
      } catch (err) {
        errors.push(err);
        this.log.error(
          { err: errorText(err), step: what },
          'a step of stopping the gateway session failed (see step and err); the other steps still ran',
        );
      }
    };
    await step('cancel the reconnect', () => clearTimeout(this.reconnectTimer));
    if (options.persist === false) await step('stop saving', () => this.saver.silence());
    await step('stop reading', () => {
      conn?.abort.abort();
      conn?.ws.removeAllListeners('message');
    });
    await step('wait for received dispatches', () => this.pump.drained());
    await step('save the session', () => this.saver.close());
    if (conn) await step('close the socket', () => this.closeForStop(conn));
    await step('report stopped', () => this.state.fire('stop'));
    if (errors.length > 0) throw errors[0];
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
    return {
      shard: this.shard,
      status: this.state.status,
      ...(this.sessionId ? { sessionId: this.sessionId } : {}),
      seq: this.pump.durableSeq,
      saveFailing: this.saver.failing,
      ...(this.sessionStartedAt !== undefined ? { sessionStartedAt: this.sessionStartedAt } : {}),
    };
  }

  private connect(): void {
    if (this.stopped) return;
    this.state.fire('connect');
    void this.open().catch((err: unknown) => {
      this.log.warn({ err: errorText(err) }, 'gateway connection attempt failed');
      this.scheduleReconnect('network', errorText(err), this.planner.attemptFailed());
    });
  }

  private async open(): Promise<void> {
    const url = await this.options.resolveGatewayUrl({ rediscover: this.planner.afterFailure });
    if (this.stopped) return;
    const handshakeTimeoutMs = this.options.handshakeTimeoutMs ?? 30_000;
    const maxFrameBytes = this.options.maxFrameBytes ?? 1024 * 1024;
    const conn = new Connection(url, { maxFrameBytes, handshakeTimeoutMs });
    this.connection = conn;
    conn.cancelHandshakeTimer = timeoutUnder(conn.signal, handshakeTimeoutMs, () =>
      this.end(
        conn,
        { reason: 'handshake_timeout', action: 'resume', minDelayMs: 0 },
        'no READY/RESUMED in time',
      ),
    );
    conn.ws.on('message', (data: RawData, isBinary: boolean) => {
      if (!conn.signal.aborted) this.onMessage(conn, data, isBinary);
    });
    conn.ws.on('close', (code: number, reason: Buffer) => this.finish(conn, code, reason.toString('utf8')));
    conn.ws.on('error', (err: Error) => {
      if (conn.signal.aborted) return;
      if (isOversizeFrameError(err)) {
        this.options.hooks?.onRejectedFrame?.('too_large', '');
        this.log.error(
          { maxFrameBytes },
          'gateway sent a frame over the size cap; raise gateway.max_frame_bytes if this repeats',
        );
      } else {
        this.log.warn({ err: errorText(err) }, 'gateway socket error');
      }
      // 'close' follows every 'error' in ws, and it decides what happens next.
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
        return this.onHello(conn, f.d);
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
        return this.onInvalidSession(conn, f.d === true);
      default:
        this.log.debug({ op: f.op }, 'ignored a frame with an unknown opcode');
    }
  }

  private onHello(conn: Connection, d: unknown): void {
    const sent = (d as { heartbeat_interval?: unknown } | undefined)?.heartbeat_interval;
    if (conn.heartbeat) {
      // QQ sends one Hello per connection. Acting on another would start a second heartbeat beside the first and
      // send a second Identify, which the gateway refuses (4005). It is ignored rather than answered by closing:
      // a gateway that always sent two would otherwise turn every connection into a reconnect, while the first
      // Hello's heartbeat and watchdog keep guarding this link either way.
      conn.extraHellos++;
      this.log[conn.extraHellos === 1 ? 'warn' : 'debug'](
        { keptIntervalMs: conn.heartbeat.intervalMs },
        'gateway sent another Hello on the same connection; ignored it and kept the first heartbeat interval',
      );
      return;
    }
    conn.heartbeat = startHelloHeartbeat(sent, {
      minIntervalMs: this.options.minHeartbeatIntervalMs,
      graceMs: this.options.heartbeatGraceMs,
      random: this.random,
      log: this.log,
      signal: conn.signal,
      beat: () => this.sendHeartbeat(conn),
      onSilence: (silentForMs) => {
        this.log.warn({ silentForMs }, 'no heartbeat ACK from the gateway; link is dead');
        this.end(conn, { reason: 'zombie', action: 'resume', minDelayMs: 0 }, 'missing heartbeat ACK');
      },
    });
    void this.authenticate(conn);
  }

  private async authenticate(conn: Connection): Promise<void> {
    let token: string;
    try {
      // the cached token: a reconnect does not wait for a token request (4004 and a new session refresh it first)
      token = await this.options.tokens.get();
    } catch (err) {
      this.log.warn({ err: errorText(err) }, 'could not obtain an access token for the gateway');
      this.end(conn, { reason: 'network', action: 'resume', minDelayMs: 0 }, 'access token unavailable');
      return;
    }
    if (conn.signal.aborted) return;
    const seq = this.pump.durableSeq;
    if (this.sessionId !== undefined && seq !== null) {
      conn.sentResume = true;
      this.state.fire('resume_sent');
      this.send(conn, { op: OP.RESUME, d: { token: `QQBot ${token}`, session_id: this.sessionId, seq } });
      this.log.info({ seq }, 'resuming session');
    } else {
      this.state.fire('identify_sent');
      this.send(conn, {
        op: OP.IDENTIFY,
        d: { token: `QQBot ${token}`, intents: this.options.intents, shard: this.shard },
      });
      this.log.info({ intents: this.options.intents }, 'identifying');
    }
  }

  private onDispatchFrame(conn: Connection, f: Partial<GatewayFrame>): void {
    const s = typeof f.s === 'number' && Number.isSafeInteger(f.s) ? f.s : null;
    const t = typeof f.t === 'string' && f.t !== '' ? f.t : 'UNKNOWN';
    const control = t === 'READY' || t === 'RESUMED';
    // an out-of-order READY/RESUMED is logged by the state machine and dropped, seq and all
    if (control && !this.state.fire(t === 'READY' ? 'ready' : 'resumed')) return;
    if (s !== null) this.receivedSeq = s;
    if (t === 'READY') {
      const d = (f.d ?? {}) as { session_id?: unknown };
      if (typeof d.session_id === 'string') {
        this.sessionId = d.session_id;
        this.sessionStartedAt = Date.now();
      }
      this.onHealthy(conn);
      this.log.info({ seq: s }, 'session ready');
    } else if (t === 'RESUMED') {
      this.onHealthy(conn);
      this.log.info({ seq: s }, 'session resumed');
    }
    const frame: DispatchFrame = { op: 0, t, s, d: f.d, ...(typeof f.id === 'string' ? { id: f.id } : {}) };
    this.pump.push(conn, frame, control);
  }

  private onHealthy(conn: Connection): void {
    conn.cancelHandshakeTimer();
    conn.healthy = true;
    this.planner.healthy();
  }

  private onInvalidSession(conn: Connection, resumable: boolean): void {
    const [minMs, maxMs] = this.options.invalidSessionDelayMs ?? [1_000, 5_000];
    const minDelayMs = Math.round(minMs + this.random() * (maxMs - minMs));
    if (resumable) {
      this.log.warn('gateway invalidated the session but allows a resume (op 9, d=true)');
      this.end(conn, { reason: 'invalid_session', action: 'resume', minDelayMs }, 'op 9 resumable');
      return;
    }
    const seq = this.pump.durableSeq;
    if (conn.sentResume && seq !== null) {
      this.log.warn(
        { seq },
        'gateway refused to resume the session (op 9); identifying a new one — events after this seq that QQ did not replay cannot be recovered',
      );
    } else {
      this.log.warn('gateway invalidated the session (op 9); identifying a new one');
    }
    this.end(conn, { reason: 'invalid_session', action: 'identify', minDelayMs }, 'op 9 not resumable');
  }

  /**
   * Ends a connection for a reason we chose: aborts its signal (every timer of it) and closes the socket. The
   * first reason wins; the socket's close event then reconnects according to it ({@link GatewaySession.finish}).
   */
  private end(conn: Connection, ending: Ending, detail: string): void {
    if (conn.ending || conn !== this.connection) return;
    conn.ending = ending;
    conn.abort.abort();
    this.log.debug({ reason: ending.reason, detail }, 'ending gateway connection');
    // terminate(): a zombie link may never complete a close handshake; 'close' still fires (code 1006).
    if (ending.reason === 'zombie' || ending.reason === 'handshake_timeout') conn.ws.terminate();
    else conn.close(ending.reason);
  }

  /** The socket closed: the one place every connection passes through once, and that decides what follows. */
  private finish(conn: Connection, code: number, reason: string): void {
    conn.abort.abort();
    if (conn !== this.connection) return;
    this.connection = undefined;
    if (this.stopped) return;
    const outcome = closeOutcome(code, conn.ending);
    const fields = { code, reason, meaning: outcome.meaning };
    if (outcome.kind === 'fatal') {
      this.log.fatal({ ...fields, hint: outcome.hint }, 'gateway refused this bot; stopping the shard');
      this.state.fire('fatal');
      this.options.hooks?.onFatal?.(code, outcome.meaning, outcome.hint);
    } else if (outcome.kind === 'config-error') {
      const delayMs = this.planner.configError(this.options.configErrorDelayMs ?? outcome.minDelayMs);
      this.log.error(
        { ...fields, hint: outcome.hint, retryInMs: delayMs },
        'gateway rejected the configuration; retrying slowly',
      );
      this.options.hooks?.onReconnect?.('close', String(code), delayMs);
      this.scheduleReconnect('close', `close ${code}`, delayMs);
    } else {
      if (!conn.ending) this.log.warn(fields, 'gateway connection closed');
      this.recover(conn, outcome.ending, outcome.detail);
    }
  }

  /** Resumes or identifies after a connection ended, as {@link ReconnectPlanner} plans it. */
  private recover(conn: Connection, ending: Ending, detail: string): void {
    const plan = this.planner.plan(ending, conn, this.sessionId !== undefined);
    if (plan.resumeFailures !== undefined) this.options.hooks?.onResumeFailing?.(plan.resumeFailures);
    if (plan.gaveUpResuming) {
      this.log.warn({ failures: plan.resumeFailures }, 'resume keeps failing; identifying a new session');
    }
    if (plan.throttled) {
      this.log.warn(
        { reason: ending.reason, delayMs: plan.delayMs },
        'the gateway ended the session within a second of READY/RESUMED; backing off instead of reconnecting at once',
      );
    }
    if (plan.action === 'identify') void this.dropSession();
    this.options.hooks?.onReconnect?.(ending.reason, detail, plan.delayMs);
    this.scheduleReconnect(ending.reason, detail, plan.delayMs, plan.refreshToken);
  }

  /** Connects again after `delayMs`; the token is refreshed first when `refreshToken`, else the cached one is used. */
  private scheduleReconnect(
    reason: ReconnectReason,
    detail: string,
    delayMs: number,
    refreshToken = false,
  ): void {
    if (this.stopped) return;
    this.state.fire('connection_ended');
    this.log.info({ reason, detail, delayMs }, 'reconnecting to the gateway');
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (!refreshToken) return this.connect();
      this.options.tokens
        .refresh()
        .catch((err: unknown) => this.log.warn({ err: errorText(err) }, 'access token refresh failed'))
        .finally(() => this.connect());
    }, delayMs);
  }

  private async dropSession(): Promise<void> {
    this.pump.newGeneration();
    this.sessionId = undefined;
    this.sessionStartedAt = undefined;
    this.receivedSeq = null;
    this.planner.sessionDropped();
    await this.options.store.clear(this.options.shardId).catch((err: unknown) => {
      this.log.warn({ err: errorText(err) }, 'could not clear the persisted session');
    });
  }

  /** Closes the socket on stop with 4000: a normal closure (1000) may make QQ discard the session to resume. */
  private closeForStop(conn: Connection): void {
    conn.ws.on('error', () => undefined);
    // A paused socket would not read the server's close frame, and the close would hang until ws times it out.
    if (this.pump.isPaused(conn)) conn.ws.resume();
    conn.close('bridge shutting down');
  }

  private sendHeartbeat(conn: Connection): void {
    if (conn.signal.aborted) return;
    this.send(conn, { op: OP.HEARTBEAT, d: this.receivedSeq });
  }

  private send(conn: Connection, frame: { op: number; d: unknown }): void {
    if (conn.ws.readyState !== WebSocket.OPEN) return;
    conn.ws.send(JSON.stringify(frame), (err) => {
      if (err) this.log.debug({ err: errorText(err) }, 'gateway send failed');
    });
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
