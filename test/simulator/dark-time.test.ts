import { describe, expect, it } from 'vitest';
import {
  darkIntervals,
  darkTimeAfterFault,
  darkTimeFrom,
  faultEntries,
  totalDarkMs,
  type TimelineEntry,
} from '../../src/simulator/index.js';

type Step = [
  at: number,
  event: TimelineEntry['event'],
  connection: number | null,
  extra?: Partial<TimelineEntry>,
];

/** A timeline from [at, event, connection] steps, on shard 0 unless a step says otherwise. */
function timeline(steps: Step[]): TimelineEntry[] {
  return steps.map(([at, event, connection, extra], i) => ({
    seq: i + 1,
    at,
    event,
    shard: 0,
    connection,
    ...extra,
  }));
}

describe('darkTimeFrom / darkTimeAfterFault', () => {
  const entries = timeline([
    [1_000, 'ready_sent', 1],
    [2_000, 'fault', 1, { fault: 'reconnect' }],
    [2_000, 'close', 1, { code: 4009, by: 'server' }],
    [2_400, 'resume_received', 2, { shard: 1 }], // another shard's resume does not count
    [2_500, 'identify_received', 3, { shard: null }], // neither does one of no known shard
    [2_600, 'resume_received', 2],
    [2_650, 'resumed_sent', 2, { shard: 1 }],
    [2_700, 'resumed_sent', 2],
    [3_000, 'ready_sent', 4],
  ]);

  it('measures from the fault to the first RESUMED/READY sent on its shard, and to the first handshake', () => {
    const fault = faultEntries(entries, { kind: 'reconnect' })[0]!;
    expect(darkTimeAfterFault(entries, fault)).toEqual({
      shard: 0,
      from: 2_000,
      handshake: { event: 'resume_received', at: 2_600, ms: 600 },
      up: { event: 'resumed_sent', at: 2_700, ms: 700 },
      darkMs: 700,
    });
  });

  it('measures from an instant given from outside, such as a kill -9', () => {
    expect(darkTimeFrom(entries, { shard: 0, from: 2_650 })).toMatchObject({ darkMs: 50 });
    expect(darkTimeFrom(entries, { shard: 0, from: 2_701 })).toMatchObject({
      up: { event: 'ready_sent', at: 3_000 },
      darkMs: 299,
    });
  });

  it('never takes an entry of the same millisecond but before the fault for the recovery', () => {
    const sameMs = timeline([
      [5_000, 'resumed_sent', 1],
      [5_000, 'fault', 1, { fault: 'cut' }],
      [5_300, 'resumed_sent', 2],
    ]);
    expect(darkTimeAfterFault(sameMs, sameMs[1]!).darkMs).toBe(300);
  });

  it('leaves darkMs undefined while the shard has not come back', () => {
    const dark = darkTimeFrom(entries, { shard: 0, from: 3_001 });
    expect(dark).toEqual({ shard: 0, from: 3_001 });
  });

  it('refuses an entry that is not a fault on a known shard', () => {
    expect(() => darkTimeAfterFault(entries, entries[0]!)).toThrow(/not a fault/);
  });

  it('filters faults by shard, kind and seq', () => {
    const faults = timeline([
      [1, 'fault', 1, { fault: 'cut' }],
      [2, 'fault', 2, { fault: 'cut', shard: 1 }],
      [3, 'fault', 3, { fault: 'half_dead' }],
      [4, 'close', 3],
    ]);
    expect(faultEntries(faults).map((f) => f.seq)).toEqual([1, 2, 3]);
    expect(faultEntries(faults, { shard: 0 }).map((f) => f.seq)).toEqual([1, 3]);
    expect(faultEntries(faults, { kind: 'cut', afterSeq: 1 }).map((f) => f.seq)).toEqual([2]);
  });
});

describe('darkIntervals', () => {
  it('a new session READY before the old socket closes is no dark time at all', () => {
    const switched = timeline([
      [1_000, 'ready_sent', 1],
      [5_000, 'identify_received', 2],
      [5_010, 'ready_sent', 2],
      [5_020, 'close', 1, { code: 4000, by: 'client' }],
    ]);
    expect(darkIntervals(switched, { shard: 0, from: 4_000, to: 6_000 })).toEqual([]);
  });

  it('a close followed by a READY later is one interval; a switch within one ms is one of 0 ms', () => {
    const gaps = timeline([
      [1_000, 'ready_sent', 1],
      [2_000, 'close', 1],
      [2_300, 'resumed_sent', 2],
      [3_000, 'close', 2],
      [3_000, 'ready_sent', 3],
    ]);
    const intervals = darkIntervals(gaps, { shard: 0, from: 1_500, to: 4_000 });
    expect(intervals).toEqual([
      { from: 2_000, to: 2_300, open: false },
      { from: 3_000, to: 3_000, open: false },
    ]);
    expect(totalDarkMs(intervals)).toBe(300);
  });

  it('half_dead and invalid_session faults stop a connection serving before it closes', () => {
    const faults = timeline([
      [1_000, 'ready_sent', 1],
      [2_000, 'fault', 1, { fault: 'half_dead' }],
      [3_500, 'close', 1],
      [3_600, 'resumed_sent', 2],
      [4_000, 'fault', 2, { fault: 'invalid_session' }],
      [4_200, 'ready_sent', 2],
      [4_500, 'fault', 2, { fault: 'reconnect' }], // followed by a close: the fault itself changes nothing
    ]);
    expect(darkIntervals(faults, { shard: 0, from: 0, to: 4_600 })).toEqual([
      { from: 0, to: 1_000, open: false },
      { from: 2_000, to: 3_600, open: false },
      { from: 4_000, to: 4_200, open: false },
    ]);
  });

  it('what happened in the millisecond the window opens at counts as before it', () => {
    const sameMs = timeline([
      [1_000, 'ready_sent', 1],
      [1_000, 'fault', 1, { fault: 'half_dead' }],
      [1_400, 'resumed_sent', 2],
    ]);
    expect(darkIntervals(sameMs, { shard: 0, from: 1_000, to: 2_000 })).toEqual([
      { from: 1_000, to: 1_400, open: false },
    ]);
  });

  it('a shard dark when the window opens, and one still dark when it ends, are clipped to the window', () => {
    const down = timeline([
      [1_000, 'ready_sent', 1],
      [2_000, 'close', 1],
      [3_000, 'ready_sent', 2],
      [4_000, 'close', 2],
    ]);
    expect(darkIntervals(down, { shard: 0, from: 2_500, to: 5_000 })).toEqual([
      { from: 2_500, to: 3_000, open: false },
      { from: 4_000, to: 5_000, open: true },
    ]);
    expect(darkIntervals(down, { shard: 0, from: 4_500, to: 5_000 })).toEqual([
      { from: 4_500, to: 5_000, open: true },
    ]);
    expect(darkIntervals(down, { shard: 0, from: 3_200, to: 3_800 })).toEqual([]);
    expect(darkIntervals(down, { shard: 1, from: 0, to: 100 })).toEqual([{ from: 0, to: 100, open: true }]);
  });
});
