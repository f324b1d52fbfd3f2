import { WebSocket, type RawData } from 'ws';
import type { DispatchFrame } from '../events/envelope.js';
import type { Logger } from '../log.js';
import { classifyClose, closeHint, type CloseDecision } from '../qq/close-codes.js';
import { OP, type GatewayFrame } from '../qq/opcodes.js';
import { startHelloHeartbeat, type Heartbeat } from './heartbeat.js';
import { ReconnectBackoff } from './reconnect-backoff.js';
import { SessionSaver } from './session-saver.js';
import type { SessionStore } from './session-store.js';

/** Where a shard is in its life; READY and RESUMED both count as healthy for `/readyz`. */
export type ShardStatus =
  'idle' | 'connecting' | 'identifying' | 'resuming' | 'ready' | 'resumed' | 'waiting' | 'stopped' | 'fatal';

/** Why a shard reconnected, for logs and the reconnect metric. */
export type ReconnectReason =
  'op7' | 'invalid_session' | 'close' | 'zombie' | 'network' | 'handshake_timeout' | 'dispatch_failed';

export interface TokenSource {
  get(): Promise<string>;
  refresh(): Promise<string>;
}

export interface GatewaySessionHooks {
  onStatus?(status: ShardStatus): void;
  onReconnect?(reason: ReconnectReason, detail: string): void;
  /** A frame that could not be used (not JSON, not an object, over the size cap); it is logged and counted. */
  onRejectedFrame?(reason: 'not_json' | 'not_object' | 'too_large', sample: string): void;
  /** A close code after which the bot cannot connect at all (4914, 4915). */
  onFatal?(code: number, meaning: string, hint: string): void;
  /** A save of the session id and seq failed (it is retried); `error` says why. */
  onSaveFailure?(error: string): void;
  /** After each refused or failed RESUME in a row; `failures` counts them (reset by READY/RESUMED). */
  onResumeFailing?(failures: number): void;
}

export interface GatewaySessionOptions {
  shardId: number;
  shardCount: number;
  intents: number;
  /** Discovers the WebSocket URL; called before every connection so a moved gateway is followed. */
  resolveGatewayUrl: () => Promise<string>;
  tokens: TokenSource;
  store: SessionStore;
  /**
   * Makes dispatches durable (normalize + enqueue), all or none. Called with every frame that arrived while the
   * previous call was in flight (group commit: one Redis round trip for a burst), strictly in sequence order and
   * one call at a time; the durable seq advances only after it resolves. A rejection makes the shard reconnect and
   * resume from the last durable seq, so QQ replays the events instead of them being lost.
   */
  onDispatch: (frames: readonly DispatchFrame[], shard: [number, number]) => Promise<void>;
  logger: Logger;
  hooks?: GatewaySessionHooks;
  /** Largest accepted frame (ws `maxPayload`); default 1 MiB. */
  maxFrameBytes?: number;
  reconnectScheduleMs?: readonly number[];
  /** Extra silence tolerated past `heartbeat_interval` before the link counts as dead; default min(5 s, interval/2). */
  heartbeatGraceMs?: number;
  /**
   * The shortest `heartbeat_interval` a Hello may set; a shorter one is raised to it (and one above 5 min lowered),
   * with a warning. Default 1 s; tests lower it to watch many beats quickly.
   */
  minHeartbeatIntervalMs?: number;
  /** While the last seq save failed, it is retried after this long; default 5 s. */
  saveRetryDelayMs?: number;
  /** Hello and READY/RESUMED must arrive within this; default 30 s. */
  handshakeTimeoutMs?: number;
  /** Delay range after op 9 (docs/qq-protocol.md D.4: 1–5 s). */
  invalidSessionDelayMs?: readonly [number, number];
  /** Delay after a configuration-class close (4001, 4002, 4010–4014); default 5 min. */
  configErrorDelayMs?: number;
  /**
   * Consecutive refused resumes before giving up on the session and identifying; default 3.
   * `Number.POSITIVE_INFINITY` keeps resuming: whoever watches {@link GatewaySessionHooks.onResumeFailing} decides.
   */
  maxResumeFailures?: number;
  /** start() ignores any persisted session and IDENTIFYs a new one (a successor beside a running session). */
  fresh?: boolean;
  /**
   * Dispatches received but not yet durable at which reading from the gateway pauses, so a burst that outruns the
   * enqueue waits in TCP buffers (and at QQ) instead of in this process's memory; default
   * {@link DEFAULT_MAX_PENDING_FRAMES}. Reading resumes once the backlog is below half of it.
   */
  maxPendingFrames?: number;
  random?: () => number;
}

/** See {@link GatewaySessionOptions.maxPendingFrames}: a few MB of frames, seconds of even a fast bot's traffic. */
export const DEFAULT_MAX_PENDING_FRAMES = 2_000;

interface PendingDispatch {
  conn: Connection;
  frame: DispatchFrame;
  s: number | null;
  /** READY / RESUMED: not events, but their seq counts. */
  control: boolean;
  generation: number;
}

interface Connection {
  ws: WebSocket;
  /** Started by the connection's first Hello. */
  heartbeat?: Heartbeat;
  /** Hellos after the first, which are ignored. */
  extraHellos: number;
  handshakeTimer?: NodeJS.Timeout;
  /** Set once we chose why this connection ends, so the close code that follows does not override it. */
  ending?: { reason: ReconnectReason; action: 'resume' | 'identify' | 'refresh-token'; minDelayMs: number };
  sentResume: boolean;
  /** A dispatch of this connection could not be made durable: its later frames are skipped (QQ replays them). */
  dispatchFailed?: boolean;
  /** Reading is paused because too many dispatches wait to become durable. */
  paused?: boolean;
}

/**
 * One shard's gateway session: Hello → Identify/Resume → READY/RESUMED → heartbeats, and every way it can end.
 *
 * Two sequence numbers are tracked. `receivedSeq` is the newest `s` seen and goes into heartbeats. `durableSeq`
 * is the newest `s` whose dispatch (and every earlier one) has been enqueued; only it is persisted and sent in
 * Resume, so a crash between receiving and enqueueing makes QQ replay the event rather than lose it.
 */
export class GatewaySession {
  private status: ShardStatus = 'idle';
  private connection: Connection | undefined;
  private sessionId: string | undefined;
  private receivedSeq: number | null = null;
  private durableSeq: number | null = null;
  /** Dispatches received but not yet handed to onDispatch, in arrival (= sequence) order. */
  private pending: PendingDispatch[] = [];
  private pumping: Promise<void> | undefined;
  private readonly saver: SessionSaver;
  /** Bumped whenever the session is dropped, so work queued for the old session cannot persist its seq. */
  private generation = 0;
  private resumeFailures = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Set by stop({ persist: false }): a successor owns the stored session, so nothing more is written. */
  private persistDisabled = false;
  private readonly backoff: ReconnectBackoff;
  private readonly random: () => number;
  private readonly log: Logger;
  private readonly shard: [number, number];

  constructor(private readonly options: GatewaySessionOptions) {
    this.random = options.random ?? Math.random;
    this.backoff = new ReconnectBackoff(options.reconnectScheduleMs, this.random);
    this.shard = [options.shardId, options.shardCount];
    this.log = options.logger.child({ component: 'gateway', shardId: options.shardId });
    this.saver = new SessionSaver({
      shardId: options.shardId,
      store: options.store,
      current: () =>
        this.persistDisabled || this.sessionId === undefined || this.durableSeq === null
          ? undefined
          : { sessionId: this.sessionId, seq: this.durableSeq },
      logger: this.log,
      onFailure: (error) => options.hooks?.onSaveFailure?.(error),
      retryDelayMs: options.saveRetryDelayMs,
    });
  }

  /** Loads any persisted session (to RESUME it) and connects. Returns once the first attempt is under way. */
  async start(): Promise<void> {
    const persisted = this.options.fresh ? undefined : await this.options.store.load(this.options.shardId);
    if (persisted) {
      this.sessionId = persisted.sessionId;
      this.durableSeq = persisted.seq;
      this.receivedSeq = persisted.seq;
      this.log.info({ seq: persisted.seq }, 'found a persisted session; will resume it');
    }
    this.connect();
  }

  /**
   * Stops reading frames, waits for dispatches already received to become durable, persists the session and
   * closes the socket with a resumable code, so the next process can RESUME. With `persist: false` the session id
   * and seq are not written (saves in flight still finish): a successor session owns the stored state now.
   */
  async stop(options: { persist?: boolean } = {}): Promise<void> {
    this.stopped = true;
    if (options.persist === false) this.persistDisabled = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const conn = this.connection;
    this.connection = undefined;
    if (conn) {
      this.clearTimers(conn);
      conn.ws.removeAllListeners('message');
    }
    while (this.pumping) await this.pumping;
    await this.saver.close();
    if (conn) {
      conn.ws.on('error', () => undefined);
      // A paused socket would not read the server's close frame, and the close would hang until ws times it out.
      if (conn.paused) conn.ws.resume();
      // 4000 rather than 1000: a normal closure may make the server discard the session we want to resume.
      if (conn.ws.readyState === WebSocket.OPEN) conn.ws.close(4000, 'bridge shutting down');
      else conn.ws.terminate();
    }
    this.setStatus('stopped');
  }

  get currentStatus(): ShardStatus {
    return this.status;
  }

  /** Dispatches received and not yet handed to onDispatch. */
  get pendingDispatches(): number {
    return this.pending.length;
  }

  /** A snapshot for `/readyz` and tests; `saveFailing` while the last save of the session and seq failed. */
  snapshot(): {
    shard: [number, number];
    status: ShardStatus;
    sessionId?: string;
    seq: number | null;
    saveFailing: boolean;
  } {
    return {
      shard: this.shard,
      status: this.status,
      ...(this.sessionId ? { sessionId: this.sessionId } : {}),
      seq: this.durableSeq,
      saveFailing: this.saver.failing,
    };
  }

  private connect(): void {
    if (this.stopped) return;
    this.setStatus('connecting');
    void this.open().catch((err: unknown) => {
      this.log.warn({ err: errorText(err) }, 'gateway connection attempt failed');
      this.scheduleReconnect('network', errorText(err), 0);
    });
  }

  private async open(): Promise<void> {
    const url = await this.options.resolveGatewayUrl();
    if (this.stopped) return;
    const ws = new WebSocket(url, {
      maxPayload: this.options.maxFrameBytes ?? 1024 * 1024,
      handshakeTimeout: this.options.handshakeTimeoutMs ?? 30_000,
      perMessageDeflate: false,
    });
    const conn: Connection = { ws, extraHellos: 0, sentResume: false };
    this.connection = conn;
    conn.handshakeTimer = setTimeout(() => {
      this.endConnection(conn, 'handshake_timeout', 'resume', 0, 'no READY/RESUMED in time');
    }, this.options.handshakeTimeoutMs ?? 30_000);

    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (conn !== this.connection) return;
      this.onMessage(conn, data, isBinary);
    });
    ws.on('close', (code: number, reason: Buffer) => {
      this.onClose(conn, code, reason.toString('utf8'));
    });
    ws.on('error', (err: Error) => {
      if (conn !== this.connection) return;
      if (/max payload/i.test(err.message)) {
        this.options.hooks?.onRejectedFrame?.('too_large', '');
        this.log.error(
          { maxFrameBytes: this.options.maxFrameBytes ?? 1024 * 1024 },
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
    const text = isBinary ? null : rawToString(data);
    let frame: unknown;
    try {
      frame = text === null ? undefined : JSON.parse(text);
    } catch {
      frame = undefined;
    }
    if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) {
      const reason = text === null || frame === undefined ? 'not_json' : 'not_object';
      const sample = (text ?? '<binary>').slice(0, 200);
      this.options.hooks?.onRejectedFrame?.(reason, sample);
      this.log.warn({ reason, sample }, 'ignored a gateway frame that is not a JSON object');
      return;
    }
    const f = frame as Partial<GatewayFrame>;
    switch (f.op) {
      case OP.HELLO:
        this.onHello(conn, f.d);
        return;
      case OP.DISPATCH:
        this.onDispatchFrame(conn, f);
        return;
      case OP.HEARTBEAT:
        this.sendHeartbeat(conn);
        return;
      case OP.HEARTBEAT_ACK:
        return;
      case OP.RECONNECT:
        this.log.info('gateway asked for a reconnect (op 7); will resume');
        this.endConnection(conn, 'op7', 'resume', 0, 'server requested reconnect');
        return;
      case OP.INVALID_SESSION:
        this.onInvalidSession(conn, f.d === true);
        return;
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
      beat: () => this.sendHeartbeat(conn),
      onSilence: (silentForMs) => {
        this.log.warn({ silentForMs }, 'no heartbeat ACK from the gateway; link is dead');
        this.endConnection(conn, 'zombie', 'resume', 0, 'missing heartbeat ACK');
      },
    });
    void this.authenticate(conn);
  }

  private async authenticate(conn: Connection): Promise<void> {
    let token: string;
    try {
      token = await this.options.tokens.get();
    } catch (err) {
      this.log.warn({ err: errorText(err) }, 'could not obtain an access token for the gateway');
      this.endConnection(conn, 'network', 'resume', 0, 'access token unavailable');
      return;
    }
    if (conn !== this.connection) return;
    if (this.sessionId !== undefined && this.durableSeq !== null) {
      conn.sentResume = true;
      this.setStatus('resuming');
      this.send(conn, {
        op: OP.RESUME,
        d: { token: `QQBot ${token}`, session_id: this.sessionId, seq: this.durableSeq },
      });
      this.log.info({ seq: this.durableSeq }, 'resuming session');
    } else {
      this.setStatus('identifying');
      this.send(conn, {
        op: OP.IDENTIFY,
        d: { token: `QQBot ${token}`, intents: this.options.intents, shard: this.shard },
      });
      this.log.info({ intents: this.options.intents }, 'identifying');
    }
  }

  private onDispatchFrame(conn: Connection, f: Partial<GatewayFrame>): void {
    const s = typeof f.s === 'number' && Number.isSafeInteger(f.s) ? f.s : null;
    if (s !== null) this.receivedSeq = s;
    const t = typeof f.t === 'string' && f.t !== '' ? f.t : 'UNKNOWN';
    if (t === 'READY') {
      const d = (f.d ?? {}) as { session_id?: unknown };
      if (typeof d.session_id === 'string') this.sessionId = d.session_id;
      this.onHealthy(conn, 'ready');
      this.log.info({ seq: s }, 'session ready');
    } else if (t === 'RESUMED') {
      this.onHealthy(conn, 'resumed');
      this.log.info({ seq: s }, 'session resumed');
    }
    const control = t === 'READY' || t === 'RESUMED';
    const frame: DispatchFrame = { op: 0, t, s, d: f.d, ...(typeof f.id === 'string' ? { id: f.id } : {}) };
    this.pending.push({ conn, frame, s, control, generation: this.generation });
    if (!conn.paused && this.pending.length >= this.maxPendingFrames()) {
      conn.paused = true;
      conn.ws.pause();
      this.log.warn(
        { pending: this.pending.length },
        'enqueueing is behind the gateway; pausing reads until it catches up',
      );
    }
    this.startPump();
  }

  private maxPendingFrames(): number {
    return this.options.maxPendingFrames ?? DEFAULT_MAX_PENDING_FRAMES;
  }

  /** Resumes a paused connection once the backlog is below half the limit. */
  private resumeReadingIfCaughtUp(): void {
    const conn = this.connection;
    if (!conn?.paused || this.pending.length >= this.maxPendingFrames() / 2) return;
    conn.paused = false;
    conn.ws.resume();
    this.log.info({ pending: this.pending.length }, 'enqueueing caught up; reading from the gateway again');
  }

  private startPump(): void {
    if (this.pumping) return;
    this.pumping = this.pump().finally(() => {
      this.pumping = undefined;
      // a frame that arrived after the loop's last check but before this callback would otherwise wait forever
      if (this.pending.length > 0) this.startPump();
    });
  }

  /**
   * Hands pending dispatches to onDispatch in batches, one batch at a time, so durableSeq is a true "everything up
   * to here". Frames that arrive while a batch is in flight form the next batch.
   */
  private async pump(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0).filter((item) => !item.conn.dispatchFailed);
      const frames = batch.filter((item) => !item.control).map((item) => item.frame);
      try {
        if (frames.length > 0) await this.options.onDispatch(frames, this.shard);
      } catch (err) {
        const conns = new Set(batch.map((item) => item.conn));
        for (const conn of conns) conn.dispatchFailed = true;
        this.log.error(
          { err: errorText(err), seqs: [frames[0]?.s, frames.at(-1)?.s] },
          'could not make dispatches durable; resuming so QQ replays them',
        );
        for (const conn of conns) this.endConnection(conn, 'dispatch_failed', 'resume', 0, errorText(err));
        continue;
      }
      let advanced = false;
      for (const item of batch) {
        // work queued for a dropped session must not move the new session's seq
        if (item.generation !== this.generation || item.s === null) continue;
        if (this.durableSeq === null || item.s > this.durableSeq) {
          this.durableSeq = item.s;
          advanced = true;
        }
      }
      if (advanced) this.saver.schedule();
      this.resumeReadingIfCaughtUp();
    }
  }

  private onHealthy(conn: Connection, status: 'ready' | 'resumed'): void {
    if (conn.handshakeTimer) clearTimeout(conn.handshakeTimer);
    this.resumeFailures = 0;
    this.backoff.reset();
    this.setStatus(status);
  }

  private onInvalidSession(conn: Connection, resumable: boolean): void {
    const [minMs, maxMs] = this.options.invalidSessionDelayMs ?? [1_000, 5_000];
    const delayMs = Math.round(minMs + this.random() * (maxMs - minMs));
    if (resumable) {
      this.log.warn('gateway invalidated the session but allows a resume (op 9, d=true)');
      this.endConnection(conn, 'invalid_session', 'resume', delayMs, 'op 9 resumable');
      return;
    }
    if (conn.sentResume && this.durableSeq !== null) {
      this.options.hooks?.onResumeFailing?.(++this.resumeFailures);
      this.log.warn(
        { seq: this.durableSeq },
        'gateway refused to resume the session (op 9); identifying a new one — events after this seq that QQ did not replay cannot be recovered',
      );
    } else {
      this.log.warn('gateway invalidated the session (op 9); identifying a new one');
    }
    this.endConnection(conn, 'invalid_session', 'identify', delayMs, 'op 9 not resumable');
  }

  private onClose(conn: Connection, code: number, reason: string): void {
    this.clearTimers(conn);
    if (conn !== this.connection) return;
    this.connection = undefined;
    if (this.stopped) return;
    const decision: CloseDecision = classifyClose(code);
    const severe = decision.action === 'fatal' || decision.action === 'config-error';
    if (conn.ending && !severe) {
      // We decided why this connection ended (op 7, op 9, watchdog); the server's close code that follows may
      // not override that, e.g. 4009 after op 7 must not clear the session (docs/qq-protocol.md §3.8). Only a code that
      // says the bot cannot connect as configured (op 9 then 4014) is more specific than our own reason.
      this.afterEnd(conn.ending, `${conn.ending.reason} (close ${code})`);
      return;
    }
    const fields = { code, reason, meaning: decision.meaning };
    if (decision.action === 'fatal') {
      const hint = closeHint(code);
      this.log.fatal({ ...fields, hint }, 'gateway refused this bot; stopping the shard');
      this.setStatus('fatal');
      this.options.hooks?.onFatal?.(code, decision.meaning, hint);
      return;
    }
    if (decision.action === 'config-error') {
      this.log.error(
        {
          ...fields,
          hint: closeHint(code),
          retryInMs: this.options.configErrorDelayMs ?? decision.minDelayMs,
        },
        'gateway rejected the configuration; retrying slowly',
      );
      this.options.hooks?.onReconnect?.('close', String(code));
      this.scheduleReconnect(
        'close',
        `close ${code}`,
        this.options.configErrorDelayMs ?? decision.minDelayMs,
        true,
      );
      return;
    }
    this.log.warn(fields, 'gateway connection closed');
    if (conn.sentResume && decision.action === 'identify') this.resumeFailures = Number.POSITIVE_INFINITY;
    else if (conn.sentResume && this.status === 'resuming') this.resumeFailures++;
    if (conn.sentResume && (decision.action === 'identify' || this.status === 'resuming')) {
      this.options.hooks?.onResumeFailing?.(this.resumeFailures);
    }
    this.afterEnd(
      {
        reason: code === 1006 ? 'network' : 'close',
        action: decision.action,
        minDelayMs: decision.minDelayMs,
      },
      `close ${code}`,
    );
  }

  /** Ends a connection for a reason we chose; the close event then reconnects according to `ending`. */
  private endConnection(
    conn: Connection,
    reason: ReconnectReason,
    action: 'resume' | 'identify',
    minDelayMs: number,
    detail: string,
  ): void {
    if (conn.ending || conn !== this.connection) return;
    conn.ending = { reason, action, minDelayMs };
    this.clearTimers(conn);
    this.log.debug({ reason, detail }, 'ending gateway connection');
    // terminate(): a zombie link may never complete a close handshake; 'close' still fires (code 1006).
    if (reason === 'zombie' || reason === 'handshake_timeout') conn.ws.terminate();
    else if (conn.ws.readyState === WebSocket.OPEN) conn.ws.close(4000, reason);
    else conn.ws.terminate();
  }

  private afterEnd(ending: NonNullable<Connection['ending']>, detail: string): void {
    const maxFailures = this.options.maxResumeFailures ?? 3;
    let action = ending.action;
    if (action === 'resume' && this.resumeFailures >= maxFailures && this.sessionId !== undefined) {
      this.log.warn({ failures: this.resumeFailures }, 'resume keeps failing; identifying a new session');
      action = 'identify';
    }
    if (action === 'identify') void this.dropSession();
    const refresh = action === 'refresh-token' || action === 'identify';
    this.options.hooks?.onReconnect?.(ending.reason, detail);
    this.scheduleReconnect(ending.reason, detail, ending.minDelayMs, false, refresh);
  }

  private scheduleReconnect(
    reason: ReconnectReason,
    detail: string,
    minDelayMs: number,
    exact = false,
    refreshToken = false,
  ): void {
    if (this.stopped) return;
    const delayMs = exact ? minDelayMs : this.backoff.next(minDelayMs);
    this.setStatus('waiting');
    this.log.info({ reason, detail, delayMs }, 'reconnecting to the gateway');
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
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
    this.generation++;
    this.sessionId = undefined;
    this.durableSeq = null;
    this.receivedSeq = null;
    this.resumeFailures = 0;
    await this.options.store.clear(this.options.shardId).catch((err: unknown) => {
      this.log.warn({ err: errorText(err) }, 'could not clear the persisted session');
    });
  }

  private sendHeartbeat(conn: Connection): void {
    if (conn !== this.connection) return;
    this.send(conn, { op: OP.HEARTBEAT, d: this.receivedSeq });
  }

  private send(conn: Connection, frame: { op: number; d: unknown }): void {
    if (conn.ws.readyState !== WebSocket.OPEN) return;
    conn.ws.send(JSON.stringify(frame), (err) => {
      if (err) this.log.debug({ err: errorText(err) }, 'gateway send failed');
    });
  }

  private clearTimers(conn: Connection): void {
    conn.heartbeat?.stop();
    if (conn.handshakeTimer) clearTimeout(conn.handshakeTimer);
  }

  private setStatus(status: ShardStatus): void {
    if (this.status === status) return;
    this.status = status;
    this.options.hooks?.onStatus?.(status);
  }
}

function rawToString(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
