import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Connection } from './connection.js';
import { closeOutcome, ReconnectPlanner, type Ending, type ReconnectReason } from './reconnect-plan.js';
import type { SessionState } from './session-state.js';
import type { GatewaySessionOptions } from './session-options.js';

export interface ReconnectorOptions {
  session: Pick<
    GatewaySessionOptions,
    | 'hooks'
    | 'tokens'
    | 'configErrorDelayMs'
    | 'reconnectScheduleMs'
    | 'maxResumeFailures'
    | 'instantReconnectMinHealthyMs'
  >;
  random: () => number;
  log: Logger;
  state: SessionState;
  /** Opens the next connection (a no-op once the session is stopped). */
  connect: () => void;
  stopped: () => boolean;
  /** A session id is known (to resume, or to give up on). */
  hasSession: () => boolean;
  /** Forgets the session and its seq, so the next connection IDENTIFYs a new one. */
  dropSession: () => void;
}

/**
 * What follows the end of a connection: the close code is read together with the ending we chose, if any
 * (reconnect-plan.ts), then the reconnect is planned (resume or identify, which token, how long to wait) and
 * scheduled. A fatal close stops the shard instead. One reconnect timer at most is pending at any time.
 */
export class Reconnector {
  private readonly planner: ReconnectPlanner;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ReconnectorOptions) {
    const { session } = options;
    this.planner = new ReconnectPlanner({
      scheduleMs: session.reconnectScheduleMs,
      random: options.random,
      maxResumeFailures: session.maxResumeFailures,
      minHealthyForInstantMs: session.instantReconnectMinHealthyMs,
    });
  }

  /** The last connection attempt never became healthy: the next one discovers the gateway URL again. */
  get rediscover(): boolean {
    return this.planner.afterFailure;
  }

  /** READY or RESUMED: the backoff and the count of failed resumes start over. */
  healthy(): void {
    this.planner.healthy();
  }

  /** An attempt failed before it had a socket (discovery, the lease check): retried after the backoff. */
  attemptFailed(err: unknown): void {
    this.options.log.warn({ err: describeError(err) }, 'gateway connection attempt failed');
    this.schedule('network', describeError(err), this.planner.attemptFailed());
  }

  /** The socket of the session's current connection closed with `code` (the session is not stopped). */
  closed(conn: Connection, code: number, reason: string): void {
    const { log, state, session } = this.options;
    const outcome = closeOutcome(code, conn.ending);
    const fields = { code, reason, meaning: outcome.meaning };
    if (outcome.kind === 'fatal') {
      log.fatal({ ...fields, hint: outcome.hint }, 'gateway refused this bot; stopping the shard');
      state.fire('fatal');
      session.hooks?.onFatal?.(code, outcome.meaning, outcome.hint);
    } else if (outcome.kind === 'config-error') {
      const delayMs = this.planner.configError(session.configErrorDelayMs ?? outcome.minDelayMs);
      log.error(
        { ...fields, hint: outcome.hint, retryInMs: delayMs },
        'gateway rejected the configuration; retrying slowly',
      );
      session.hooks?.onReconnect?.('close', String(code), delayMs);
      this.schedule('close', `close ${code}`, delayMs);
    } else {
      if (!conn.ending) log.warn(fields, 'gateway connection closed');
      this.recover(conn, outcome.ending, outcome.detail);
    }
  }

  /** Cancels a pending reconnect (on stop). */
  cancel(): void {
    clearTimeout(this.timer);
  }

  /** Resumes or identifies after a connection ended, as {@link ReconnectPlanner} plans it. */
  private recover(conn: Connection, ending: Ending, detail: string): void {
    const { log, session } = this.options;
    const plan = this.planner.plan(ending, conn, this.options.hasSession());
    if (plan.resumeFailures !== undefined) session.hooks?.onResumeFailing?.(plan.resumeFailures);
    if (plan.gaveUpResuming) {
      log.warn({ failures: plan.resumeFailures }, 'resume keeps failing; identifying a new session');
    }
    if (plan.throttled) {
      log.warn(
        { reason: ending.reason, delayMs: plan.delayMs },
        'the gateway ended the session within a second of READY/RESUMED; backing off instead of reconnecting at once',
      );
    }
    if (plan.action === 'identify') {
      // failed resumes of the dropped session no longer count
      this.planner.sessionDropped();
      this.options.dropSession();
    }
    session.hooks?.onReconnect?.(ending.reason, detail, plan.delayMs);
    this.schedule(ending.reason, detail, plan.delayMs, plan.refreshToken);
  }

  /** Connects again after `delayMs`; the token is refreshed first when `refreshToken`, else the cached one is used. */
  private schedule(reason: ReconnectReason, detail: string, delayMs: number, refreshToken = false): void {
    const { log, state, session, connect } = this.options;
    if (this.options.stopped()) return;
    state.fire('connection_ended');
    log.info({ reason, detail, delayMs }, 'reconnecting to the gateway');
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!refreshToken) return connect();
      session.tokens
        .refresh()
        .catch((err: unknown) => log.warn({ err: describeError(err) }, 'access token refresh failed'))
        .finally(() => connect());
    }, delayMs);
  }
}
