import type { SocketFaultKind } from './commands.js';

/**
 * What happened on a shard's gateway link, as the simulator saw it: a socket fault injected, a socket closed or
 * dropped (by either side), an Identify or Resume received, a READY or RESUMED sent.
 */
export type TimelineEvent =
  'fault' | 'close' | 'identify_received' | 'resume_received' | 'ready_sent' | 'resumed_sent';

/** One timeline entry. `seq` orders entries exactly where two share a millisecond. */
export interface TimelineEntry {
  /** 1, 2, 3… since the simulator started; never reused, so a reader can tell what the ring buffer dropped */
  seq: number;
  /** epoch ms, from the real clock (`Date.now()`) whatever `now` the simulator was given */
  at: number;
  event: TimelineEvent;
  /** the shard id, or null when the simulator cannot tell (a socket that never identified, a malformed Identify) */
  shard: number | null;
  /** the WebSocket connection's id, or null for a fault that hit a session with no socket */
  connection: number | null;
  /** `fault`: which one */
  fault?: SocketFaultKind;
  /** `fault` of kind `close`, and `close`: the close code (1006 for a link dropped without a close frame) */
  code?: number;
  /** `close`: which side closed */
  by?: 'server' | 'client';
  /** `ready_sent`, `resumed_sent`, `resume_received` (when it names one): the session id */
  session_id?: string;
}

export type TimelineRecord = Omit<TimelineEntry, 'seq' | 'at'>;

/** How many entries the simulator keeps: enough for every fault of a long test, bounded for a long-running one. */
export const TIMELINE_CAPACITY = 1_000;

/** A ring buffer of the last `capacity` timeline entries. */
export class Timeline {
  readonly #entries: TimelineEntry[] = [];
  #next = 0;
  #seq = 0;
  #dropped = 0;

  constructor(
    readonly capacity = TIMELINE_CAPACITY,
    private readonly clock: () => number = Date.now,
  ) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new RangeError(`timeline capacity must be a positive integer, got ${String(capacity)}`);
    }
  }

  record(entry: TimelineRecord): TimelineEntry {
    const full: TimelineEntry = { seq: ++this.#seq, at: this.clock(), ...entry };
    if (this.#entries.length < this.capacity) this.#entries.push(full);
    else {
      this.#entries[this.#next] = full;
      this.#next = (this.#next + 1) % this.capacity;
      this.#dropped++;
    }
    return full;
  }

  /** Entries dropped from the front because the buffer was full. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Copies of the kept entries, oldest first. */
  entries(): TimelineEntry[] {
    const ordered = [...this.#entries.slice(this.#next), ...this.#entries.slice(0, this.#next)];
    return ordered.map((entry) => ({ ...entry }));
  }
}
