import type { DispatchFrame } from '../events/envelope.js';
import type { Logger } from '../log.js';
import type { FrameRejectReason } from './frame-reader.js';
import type { ReconnectReason } from './reconnect-plan.js';
import type { ShardStatus } from './session-state.js';
import type { SessionStore } from './session-store.js';

export interface TokenSource {
  get(): Promise<string>;
  refresh(): Promise<string>;
}

export interface GatewaySessionHooks {
  onStatus?(status: ShardStatus): void;
  /** A reconnect was scheduled; `delayMs` is the delay it was scheduled with (0: the attempt starts at once). */
  onReconnect?(reason: ReconnectReason, detail: string, delayMs: number): void;
  /**
   * A RESUME failed or was refused; `failures` counts them in a row (reset by READY/RESUMED). Told before the
   * session decides whether to try again or to identify (see {@link GatewaySessionOptions.maxResumeFailures}).
   */
  onResumeFailing?(failures: number): void;
  /** A frame that could not be used (not JSON, not an object, over the size cap); it is logged and counted. */
  onRejectedFrame?(reason: FrameRejectReason, sample: string): void;
  /** A close code after which the bot cannot connect at all (4914, 4915). */
  onFatal?(code: number, meaning: string, hint: string): void;
  /** A save of the session id and seq failed (it is retried); `error` says why. */
  onSaveFailure?(error: string): void;
}

/** What a connection asks of its URL source: whether the gateway must be discovered again. */
export interface GatewayUrlContext {
  /**
   * True after a failed connection attempt (a moved gateway is followed then) and for a rotation's successor; false
   * for a reconnect after a healthy session, which uses the last known URL and saves the round trip.
   */
  rediscover: boolean;
}

export interface GatewaySessionOptions {
  shardId: number;
  shardCount: number;
  intents: number;
  /**
   * The WebSocket URL, asked before every connection; the session sets `rediscover` when the previous connection
   * attempt failed (it never became READY/RESUMED).
   */
  resolveGatewayUrl: (context: GatewayUrlContext) => Promise<string>;
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
  /**
   * Seq saves start at least this far apart, and a seq that moved is saved at the latest this long after it moved;
   * stop() saves at once. A kill -9 resumes from a seq up to this much older (QQ replays, dedupe drops); default
   * DEFAULT_SAVE_INTERVAL_MS (session-saver.ts), 0 saves every move.
   */
  saveIntervalMs?: number;
  /** Hello and READY/RESUMED must arrive within this; default 30 s. */
  handshakeTimeoutMs?: number;
  /** Delay range after op 9 (docs/qq-protocol.md D.4: 1–5 s). */
  invalidSessionDelayMs?: readonly [number, number];
  /** Delay after a configuration-class close (4001, 4002, 4010–4014); default 5 min. */
  configErrorDelayMs?: number;
  /**
   * Consecutive failed resumes before giving up on the session and identifying; default 3. A resume QQ refuses
   * outright (op 9 `d` false, close 4006/4007/49xx) always drops the session and identifies at once: QQ has said
   * the session is gone. `Number.POSITIVE_INFINITY` only keeps a resume that failed without such a refusal
   * (4009, 4004, a dropped link) resuming, with backoff, and its owner decides from
   * {@link GatewaySessionHooks.onResumeFailing}.
   */
  maxResumeFailures?: number;
  /** Ignore any persisted session: start() IDENTIFYs a new one (its saves then replace the stored state). */
  fresh?: boolean;
  /**
   * How long a session must have been healthy for its end to get an instant reconnect; default
   * MIN_HEALTHY_FOR_INSTANT_RECONNECT_MS (reconnect-plan.ts).
   */
  instantReconnectMinHealthyMs?: number;
  /**
   * Dispatches received but not yet durable at which reading from the gateway pauses, so a burst that outruns the
   * enqueue waits in TCP buffers (and at QQ) instead of in this process's memory; default
   * DEFAULT_MAX_PENDING_FRAMES (durable-pump.ts). Reading resumes once the backlog is below half of it.
   */
  maxPendingFrames?: number;
  random?: () => number;
}
