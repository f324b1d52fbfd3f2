import type { Logger } from '../log.js';

/** What a Hello without a usable `heartbeat_interval` gets: the documented value (docs/qq-protocol.md §3.6). */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 45_000;

/** The shortest interval a Hello may set by default: anything shorter makes the shard beat in a storm. */
export const MIN_HEARTBEAT_INTERVAL_MS = 1_000;

/**
 * The longest interval a Hello may set. Longer, and the watchdog would take that long to notice a dead link; past
 * 2^31 − 1 ms Node's timers overflow to 1 ms, which turns the heartbeat and the watchdog into a reconnect storm.
 */
export const MAX_HEARTBEAT_INTERVAL_MS = 300_000;

/** The interval a connection heartbeats at, and why it differs from what Hello sent, if it does. */
export interface HeartbeatInterval {
  intervalMs: number;
  /** `invalid`: not a positive number, so the default is used; `clamped`: outside the accepted range. */
  adjusted?: 'invalid' | 'clamped';
}

/**
 * The interval to heartbeat at for Hello's `heartbeat_interval` (`sent`, as it came off the wire): a positive
 * number is clamped to `minMs` … {@link MAX_HEARTBEAT_INTERVAL_MS}, anything else gets
 * {@link DEFAULT_HEARTBEAT_INTERVAL_MS}.
 */
export function heartbeatIntervalFrom(sent: unknown, minMs = MIN_HEARTBEAT_INTERVAL_MS): HeartbeatInterval {
  if (typeof sent !== 'number' || Number.isNaN(sent) || sent <= 0) {
    return { intervalMs: DEFAULT_HEARTBEAT_INTERVAL_MS, adjusted: 'invalid' };
  }
  const lowest = Math.min(minMs, MAX_HEARTBEAT_INTERVAL_MS);
  const intervalMs = Math.min(Math.max(sent, lowest), MAX_HEARTBEAT_INTERVAL_MS);
  return intervalMs === sent ? { intervalMs } : { intervalMs, adjusted: 'clamped' };
}

/** {@link HeartbeatOptions} with Hello's `heartbeat_interval` as it came off the wire instead of an interval. */
export interface HelloHeartbeatOptions extends Omit<HeartbeatOptions, 'intervalMs'> {
  /** The shortest interval Hello may set; default {@link MIN_HEARTBEAT_INTERVAL_MS}. */
  minIntervalMs?: number | undefined;
  /** Told, at warn, when the interval Hello sent is not used as is. */
  log: Logger;
}

/**
 * Starts the heartbeat a Hello asks for, at the interval {@link heartbeatIntervalFrom} makes of `sent`, and warns
 * with what the gateway sent and what is used instead when the two differ.
 */
export function startHelloHeartbeat(sent: unknown, options: HelloHeartbeatOptions): Heartbeat {
  const { minIntervalMs = MIN_HEARTBEAT_INTERVAL_MS, log, ...timing } = options;
  const { intervalMs, adjusted } = heartbeatIntervalFrom(sent, minIntervalMs);
  if (adjusted) {
    const fields = {
      sent: wireSample(sent),
      usedMs: intervalMs,
      minMs: minIntervalMs,
      maxMs: MAX_HEARTBEAT_INTERVAL_MS,
    };
    log.warn(
      fields,
      adjusted === 'clamped'
        ? `gateway sent a heartbeat_interval outside ${minIntervalMs}–${MAX_HEARTBEAT_INTERVAL_MS} ms; clamped it to ${intervalMs} ms (QQ sends about 45000; check that qq.api_base is QQ's)`
        : `gateway sent no usable heartbeat_interval (not a positive number); using ${intervalMs} ms (check that qq.api_base is QQ's)`,
    );
  }
  return new Heartbeat({ ...timing, intervalMs });
}

export interface HeartbeatOptions {
  intervalMs: number;
  /** Extra silence tolerated past the interval before the link counts as dead; default min(5 s, interval/2). */
  graceMs?: number | undefined;
  /** Jitters the first beat; `Math.random` in production. */
  random: () => number;
  /** Sends one heartbeat. */
  beat: () => void;
  /** No frame arrived for `silentForMs` (one interval plus the grace): the link is dead. */
  onSilence: (silentForMs: number) => void;
  /** The connection's signal: its abort stops the heartbeat and the watchdog. */
  signal?: AbortSignal | undefined;
}

/**
 * One connection's heartbeat and ACK watchdog (docs/qq-protocol.md §3.6), started on Hello. Beats every interval,
 * the first one jittered so that many shards restarting together do not beat in lockstep. Any frame proves the
 * link alive; silence past one interval plus a grace means a half-open (zombie) socket.
 */
export class Heartbeat {
  readonly intervalMs: number;
  private first: NodeJS.Timeout | undefined;
  private every: NodeJS.Timeout | undefined;
  private readonly watchdog: NodeJS.Timeout;
  private stopped = false;

  constructor(options: HeartbeatOptions) {
    const { intervalMs, beat } = options;
    this.intervalMs = intervalMs;
    this.first = setTimeout(
      () => {
        this.first = undefined;
        beat();
        this.every = setInterval(beat, intervalMs);
      },
      Math.floor(options.random() * intervalMs),
    );
    const silentForMs = intervalMs + (options.graceMs ?? Math.min(5_000, intervalMs / 2));
    this.watchdog = setTimeout(() => options.onSilence(silentForMs), silentForMs);
    if (options.signal?.aborted) this.stop();
    options.signal?.addEventListener('abort', () => this.stop(), { once: true });
  }

  /** A frame arrived: the watchdog starts over. */
  alive(): void {
    // refresh() would re-arm a cleared timer
    if (!this.stopped) this.watchdog.refresh();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.first);
    clearInterval(this.every);
    clearTimeout(this.watchdog);
  }
}

/** A wire value for a log line: its JSON, cut short, so a hostile frame cannot bloat the log. */
function wireSample(value: unknown): string {
  return (JSON.stringify(value) ?? 'undefined').slice(0, 100);
}
