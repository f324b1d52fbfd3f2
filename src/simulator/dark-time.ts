import type { SocketFaultKind } from './commands.js';
import type { TimelineEntry } from './timeline.js';

/**
 * Gateway dark time measured from outside the client: from a fault (or any instant, such as a process's kill -9)
 * until the simulator next sent READY or RESUMED on the shard. Pure functions over the simulator's timeline
 * (`state().timeline`), so a test, the bench, or a script reading `GET /_sim/state` computes it the same way.
 */
export interface DarkTime {
  shard: number;
  /** where the measurement starts, epoch ms */
  from: number;
  /** the first Identify or Resume received on the shard after `from`: when the client came back to ask */
  handshake?: { event: 'identify_received' | 'resume_received'; at: number; ms: number };
  /** the first READY or RESUMED sent on the shard after `from`: when the shard could receive events again */
  up?: { event: 'ready_sent' | 'resumed_sent'; at: number; ms: number };
  /** `up.ms`: the dark time; undefined while the shard has not come back */
  darkMs?: number;
}

export interface DarkTimeStart {
  shard: number;
  /** epoch ms; entries at this instant or later count */
  from: number;
  /**
   * Only entries with a larger `seq` count, on top of `from`: a fault's own seq, so that an entry in the same
   * millisecond but before the fault is never taken for the recovery.
   */
  afterSeq?: number;
}

/** Dark time from `start.from` on shard `start.shard`. */
export function darkTimeFrom(timeline: readonly TimelineEntry[], start: DarkTimeStart): DarkTime {
  const afterSeq = start.afterSeq ?? 0;
  const later = timeline.filter(
    (entry) => entry.shard === start.shard && entry.at >= start.from && entry.seq > afterSeq,
  );
  const result: DarkTime = { shard: start.shard, from: start.from };
  const handshake = later.find(
    (entry) => entry.event === 'identify_received' || entry.event === 'resume_received',
  );
  if (handshake) {
    result.handshake = {
      event: handshake.event as 'identify_received' | 'resume_received',
      at: handshake.at,
      ms: handshake.at - start.from,
    };
  }
  const up = later.find((entry) => entry.event === 'ready_sent' || entry.event === 'resumed_sent');
  if (up) {
    result.up = { event: up.event as 'ready_sent' | 'resumed_sent', at: up.at, ms: up.at - start.from };
    result.darkMs = up.at - start.from;
  }
  return result;
}

/** Dark time after one fault entry of the timeline (the fault must name its shard). */
export function darkTimeAfterFault(timeline: readonly TimelineEntry[], fault: TimelineEntry): DarkTime {
  if (fault.event !== 'fault' || fault.shard === null) {
    throw new RangeError(`timeline entry ${fault.seq} is not a fault on a known shard`);
  }
  return darkTimeFrom(timeline, { shard: fault.shard, from: fault.at, afterSeq: fault.seq });
}

/** The fault entries on `shard` (every shard if omitted), of kind `kind` if given, after seq `afterSeq`. */
export function faultEntries(
  timeline: readonly TimelineEntry[],
  filter: { shard?: number; kind?: SocketFaultKind; afterSeq?: number } = {},
): TimelineEntry[] {
  return timeline.filter(
    (entry) =>
      entry.event === 'fault' &&
      (filter.shard === undefined || entry.shard === filter.shard) &&
      (filter.kind === undefined || entry.fault === filter.kind) &&
      entry.seq > (filter.afterSeq ?? 0),
  );
}

/**
 * A span during which no socket of the shard was serving events; `to` may equal `from` (a switch within one
 * millisecond). `open`: still dark when the window ended.
 */
export interface DarkInterval {
  from: number;
  to: number;
  open: boolean;
}

/**
 * Every span of [from, to] in which no connection of `shard` was serving: a connection serves from its READY or
 * RESUMED until it closes, or until a `half_dead` or `invalid_session` fault stops the simulator sending it events.
 * This counts a seamless switch (a new session READY before the old socket closes) as no dark time at all, which
 * "fault → next READY" cannot tell. What serves at `from` is worked out from the entries up to and including that
 * millisecond (a READY and a fault within one ms of `from` are both already applied), so the timeline must still
 * hold the shard's last READY/RESUMED before the window.
 */
export function darkIntervals(
  timeline: readonly TimelineEntry[],
  window: { shard: number; from: number; to: number },
): DarkInterval[] {
  const serving = new Set<number>();
  const intervals: DarkInterval[] = [];
  let darkSince: number | undefined;
  let started = false;
  const begin = (): void => {
    started = true;
    if (serving.size === 0) darkSince = window.from;
  };
  for (const entry of timeline) {
    if (entry.at > window.to) break;
    if (entry.shard !== window.shard || entry.connection === null) continue;
    const change = servingChange(entry);
    if (change === undefined) continue;
    if (!started && entry.at > window.from) begin();
    if (change === 'up') serving.add(entry.connection);
    else serving.delete(entry.connection);
    if (!started) continue;
    if (serving.size === 0 && darkSince === undefined) darkSince = entry.at;
    else if (serving.size > 0 && darkSince !== undefined) {
      intervals.push({ from: darkSince, to: entry.at, open: false });
      darkSince = undefined;
    }
  }
  if (!started) begin();
  if (darkSince !== undefined) intervals.push({ from: darkSince, to: window.to, open: true });
  return intervals;
}

/** Whether an entry starts or ends a connection's serving, or neither. */
function servingChange(entry: TimelineEntry): 'up' | 'down' | undefined {
  switch (entry.event) {
    case 'ready_sent':
    case 'resumed_sent':
      return 'up';
    case 'close':
      return 'down';
    case 'fault':
      return entry.fault === 'half_dead' || entry.fault === 'invalid_session' ? 'down' : undefined;
    default:
      return undefined;
  }
}

/** The total of {@link darkIntervals}, ms. */
export function totalDarkMs(intervals: readonly DarkInterval[]): number {
  return intervals.reduce((sum, interval) => sum + (interval.to - interval.from), 0);
}
