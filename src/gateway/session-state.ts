import type { Logger } from '../log.js';

/** Where a shard is in its life; READY and RESUMED both count as healthy for `/readyz`. */
export type ShardStatus =
  'idle' | 'connecting' | 'identifying' | 'resuming' | 'ready' | 'resumed' | 'waiting' | 'stopped' | 'fatal';

/**
 * What happens to a session (docs/qq-protocol.md §3.3, §3.12): a connection is opened, Identify or Resume is sent
 * after Hello, READY or RESUMED answers it, the connection ends (and a reconnect is scheduled), the gateway refuses
 * the bot for good, or the session is stopped.
 */
export type SessionEvent =
  'connect' | 'identify_sent' | 'resume_sent' | 'ready' | 'resumed' | 'connection_ended' | 'fatal' | 'stop';

/**
 * The protocol state machine as a table: for each status, the events allowed in it and the status each leads to.
 * An event missing from a row is illegal there. What the session does on each event (send Identify, start the
 * heartbeat, schedule a reconnect) is in handshake.ts and reconnector.ts; this table only says which order of
 * events is valid.
 */
const TRANSITIONS: Readonly<Record<ShardStatus, Partial<Record<SessionEvent, ShardStatus>>>> = {
  idle: { connect: 'connecting', stop: 'stopped' },
  connecting: {
    identify_sent: 'identifying',
    resume_sent: 'resuming',
    connection_ended: 'waiting',
    fatal: 'fatal',
    stop: 'stopped',
  },
  identifying: { ready: 'ready', connection_ended: 'waiting', fatal: 'fatal', stop: 'stopped' },
  // A gateway may answer a Resume with a new session's READY; it is taken like any READY.
  resuming: {
    resumed: 'resumed',
    ready: 'ready',
    connection_ended: 'waiting',
    fatal: 'fatal',
    stop: 'stopped',
  },
  ready: { connection_ended: 'waiting', fatal: 'fatal', stop: 'stopped' },
  resumed: { connection_ended: 'waiting', fatal: 'fatal', stop: 'stopped' },
  // A failed attempt may end before a connection exists (discovery or the lease check failed).
  waiting: { connect: 'connecting', connection_ended: 'waiting', stop: 'stopped' },
  fatal: { stop: 'stopped' },
  stopped: { stop: 'stopped' },
};

/** The next status after `event` in `status`, or undefined when the table does not allow it. */
export function nextStatus(status: ShardStatus, event: SessionEvent): ShardStatus | undefined {
  return TRANSITIONS[status][event];
}

/**
 * A session's current status, moved only along {@link TRANSITIONS}. An illegal event is logged and leaves the
 * status as it is rather than throwing: a gateway that sends frames out of order must not crash the shard.
 */
export class SessionState {
  private current: ShardStatus = 'idle';

  constructor(
    private readonly log: Logger,
    private readonly onChange: (status: ShardStatus) => void,
  ) {}

  get status(): ShardStatus {
    return this.current;
  }

  /** Applies `event`; returns whether it was legal in the current status. */
  fire(event: SessionEvent): boolean {
    const next = nextStatus(this.current, event);
    if (next === undefined) {
      this.log.warn(
        { status: this.current, event },
        'gateway session event out of order; ignored it (the session carries on; report this if it repeats)',
      );
      return false;
    }
    if (next !== this.current) {
      this.current = next;
      this.onChange(next);
    }
    return true;
  }
}
