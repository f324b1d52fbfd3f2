import { classifyClose, closeHint } from '../qq/close-codes.js';
import { ReconnectBackoff } from './reconnect-backoff.js';

/** Why a shard reconnected, for logs and the reconnect metric. */
export type ReconnectReason =
  'op7' | 'invalid_session' | 'close' | 'zombie' | 'network' | 'handshake_timeout' | 'dispatch_failed';

/** Why a connection ended and what that asks for (docs/qq-protocol.md D.4). */
export interface Ending {
  reason: ReconnectReason;
  action: 'resume' | 'identify' | 'refresh-token';
  /** The least delay the ending asks for (op 9: 1–5 s, 4008: 60 s), on top of the backoff. */
  minDelayMs: number;
}

/** What a socket's close means (docs/qq-protocol.md D.4), given the ending we chose before it, if any. */
export type CloseOutcome =
  | { kind: 'reconnect'; ending: Ending; detail: string; meaning: string }
  | { kind: 'fatal'; meaning: string; hint: string }
  | { kind: 'config-error'; meaning: string; hint: string; minDelayMs: number };

/**
 * The close code, read in the light of `chosen`. An ending we chose (op 7, op 9, the watchdog) is not overridden by
 * the code that follows, e.g. 4009 after op 7 must not clear the session (§3.8); only a code that says the bot cannot
 * connect as configured or at all (op 9 then 4014) is more specific than our own reason.
 */
export function closeOutcome(code: number, chosen: Ending | undefined): CloseOutcome {
  const decision = classifyClose(code);
  const { action, meaning, minDelayMs } = decision;
  if (action === 'fatal') return { kind: 'fatal', meaning, hint: closeHint(code) };
  if (action === 'config-error') return { kind: 'config-error', meaning, hint: closeHint(code), minDelayMs };
  if (chosen)
    return { kind: 'reconnect', ending: chosen, detail: `${chosen.reason} (close ${code})`, meaning };
  const ending: Ending = { reason: code === 1006 ? 'network' : 'close', action, minDelayMs };
  return { kind: 'reconnect', ending, detail: `close ${code}`, meaning };
}

/** What became of the connection that ended. */
export interface EndedConnection {
  /** READY or RESUMED arrived on it. */
  healthy: boolean;
  /** It sent a Resume. */
  sentResume: boolean;
}

/** What to do next. */
export interface ReconnectPlan {
  action: 'resume' | 'identify';
  /** Fetch a new access token before connecting (4004, or a new session); else the cached one is used. */
  refreshToken: boolean;
  delayMs: number;
  /** This ending was one more failed resume: how many in a row. */
  resumeFailures?: number;
  /** Too many failed resumes in a row: the session is given up. */
  gaveUpResuming: boolean;
  /** The reconnect could have been instant, but the session was healthy for too short a time. */
  throttled: boolean;
}

/**
 * How long a session must have been READY/RESUMED for its end to earn an instant (zero-delay) reconnect. QQ cycles
 * a session about every 30 min (docs/qq-protocol.md §7.1), so a normal cycle always gets it, and so does a link that
 * drops twice in a minute for unrelated reasons. A gateway that ends sessions right after READY gets the jittered
 * backoff (D.5) instead of a zero-delay loop that would hammer QQ as fast as the round trip allows; with this floor
 * the fastest instant loop is one RESUME per second, no faster than the backoff's first step already allows (the
 * backoff starts over at every READY).
 */
export const MIN_HEALTHY_FOR_INSTANT_RECONNECT_MS = 1_000;

/** The endings whose first reconnect may be instant: QQ cycling the session, or the link dropping. */
const INSTANT_REASONS: ReadonlySet<ReconnectReason> = new Set(['op7', 'close', 'network', 'zombie']);

export interface ReconnectPlannerOptions {
  scheduleMs?: readonly number[] | undefined;
  random: () => number;
  /** See GatewaySessionOptions.maxResumeFailures; default 3. */
  maxResumeFailures?: number | undefined;
  /** See {@link MIN_HEALTHY_FOR_INSTANT_RECONNECT_MS}, the default. */
  minHealthyForInstantMs?: number | undefined;
  now?: () => number;
}

/**
 * Decides how a shard reconnects after a connection ends: resume or identify, a fresh token or the cached one, and
 * the delay. The first reconnect after a healthy session that QQ cycled (op 7, a resumable close) or whose link
 * dropped starts at once: the session RESUMEs, so any wait is only dark time. A delay that exists for a reason is
 * kept (op 9, 4008, configuration-class closes), and from the second failed attempt in a row on the backoff
 * applies (D.5); {@link MIN_HEALTHY_FOR_INSTANT_RECONNECT_MS} keeps instant attempts out of a loop.
 */
export class ReconnectPlanner {
  private readonly backoff: ReconnectBackoff;
  private readonly now: () => number;
  private resumeFailures = 0;
  /** When the current session last became READY/RESUMED. */
  private healthySince = Number.NEGATIVE_INFINITY;
  private lastAttemptFailed = false;

  constructor(private readonly options: ReconnectPlannerOptions) {
    this.backoff = new ReconnectBackoff(options.scheduleMs, options.random);
    this.now = options.now ?? Date.now;
  }

  /** The last connection attempt never became healthy: the gateway URL is worth re-discovering. */
  get afterFailure(): boolean {
    return this.lastAttemptFailed;
  }

  /** READY or RESUMED: the backoff and the failed resumes start over. */
  healthy(): void {
    this.healthySince = this.now();
    this.backoff.reset();
    this.resumeFailures = 0;
    this.lastAttemptFailed = false;
  }

  /** The session was dropped: failed resumes of it no longer count. */
  sessionDropped(): void {
    this.resumeFailures = 0;
  }

  /** An attempt failed before it had a socket (discovery, the lease check); returns the backoff delay. */
  attemptFailed(): number {
    this.lastAttemptFailed = true;
    return this.backoff.next();
  }

  /** A configuration-class close: retried after exactly `delayMs`. */
  configError(delayMs: number): number {
    this.lastAttemptFailed = true;
    return delayMs;
  }

  plan(ending: Ending, conn: EndedConnection, hasSession: boolean): ReconnectPlan {
    const maxFailures = this.options.maxResumeFailures ?? 3;
    if (!conn.healthy) this.lastAttemptFailed = true;
    let action: ReconnectPlan['action'] = ending.action === 'identify' ? 'identify' : 'resume';
    let resumeFailures: number | undefined;
    // A refused resume (op 9 `d` false, 4006/4007/49xx: the ending asks to identify) identifies at once, whatever
    // maxResumeFailures says: QQ has said the session is gone, so resuming it again only adds dark time (D.4).
    if (conn.sentResume && !conn.healthy) resumeFailures = ++this.resumeFailures;
    let gaveUpResuming = false;
    if (action === 'resume' && this.resumeFailures >= maxFailures && hasSession) {
      action = 'identify';
      gaveUpResuming = true;
    }
    const canBeInstant =
      conn.healthy &&
      action === 'resume' &&
      ending.action === 'resume' &&
      ending.minDelayMs === 0 &&
      INSTANT_REASONS.has(ending.reason);
    const minHealthyMs = this.options.minHealthyForInstantMs ?? MIN_HEALTHY_FOR_INSTANT_RECONNECT_MS;
    const instant = canBeInstant && this.now() - this.healthySince >= minHealthyMs;
    return {
      action,
      refreshToken: ending.action === 'refresh-token' || ending.action === 'identify',
      delayMs: instant ? 0 : this.backoff.next(ending.minDelayMs),
      ...(resumeFailures !== undefined ? { resumeFailures } : {}),
      gaveUpResuming,
      throttled: canBeInstant && !instant,
    };
  }
}
