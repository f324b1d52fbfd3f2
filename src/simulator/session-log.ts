import { randomUUID } from 'node:crypto';
import type { Connection } from './connection.js';
import type { LoggedEvent } from './frames.js';

/**
 * One gateway session: its id, shard, sequence counter and the log of every event dispatched in it, which is what
 * a Resume replays from. READY and RESUMED consume sequence numbers (the client stores `s` from them, docs/qq-protocol.md
 * §3.3) but are not logged: a resumed client never needs them again.
 */
export class Session {
  readonly id = randomUUID();
  /** Last `s` used in this session (READY is 1). */
  seq = 0;
  /** Successful resumes of this session. */
  resumes = 0;
  discarded = false;
  /** The socket currently attached, if any. */
  socket: Connection | undefined;
  readonly #log: LoggedEvent[] = [];

  constructor(readonly shard: readonly [number, number]) {}

  /** The next sequence number, for READY, RESUMED or an event. */
  nextSeq(): number {
    this.seq += 1;
    return this.seq;
  }

  /** Logs an event under the next sequence number and returns it. */
  record(t: string, id: string, d: unknown): LoggedEvent {
    const event = { s: this.nextSeq(), t, id, d };
    this.#log.push(event);
    return event;
  }

  /** Every logged event with `s > seq`, oldest first: exactly what a Resume from `seq` must replay. */
  eventsAfter(seq: number): LoggedEvent[] {
    return this.#log.filter((event) => event.s > seq);
  }

  /** Ends the session for good; its log is dropped because nothing can resume it any more. */
  discard(): void {
    this.discarded = true;
    this.socket = undefined;
    this.#log.length = 0;
  }
}
