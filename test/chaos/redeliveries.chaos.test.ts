import { describe, expect, it } from 'vitest';
import { jobIdForEvent } from '../../src/queue/names.js';
import type { AcknowledgedDelivery } from './counting-receiver.js';
import { classifyTwiceAcknowledged, type JobTrace, type Kill } from './redeliveries.js';

/**
 * The chaos world's verdict on an event acknowledged twice (no processes: the evidence is given). Times are ms;
 * the kill is at 10 000.
 */
const ID = 'GROUP_ADD_ROBOT:0b6c3d7e-1f7a-4c59-9d39-2f5f3c1e8a10';
const KILL_AT = 10_000;
const killWith = (active: string[]): Kill => ({ at: KILL_AT, activeJobIds: new Set(active) });
const delivery = (arrivedAt: number, ackedAt = arrivedAt + 5, attempt = '1'): AcknowledgedDelivery => ({
  id: ID,
  attempt,
  path: '/events',
  arrivedAt,
  ackedAt,
});
/** Taken back by the stalled-job check once; its last run started 3.8 s after the kill (lock expiry + check). */
const stalledOnce: JobTrace = {
  stalledCount: 1,
  attemptsStarted: 2,
  attemptsMade: 1,
  lastRunStartedAt: KILL_AT + 3_800,
};
/** Run once, started before the kill. */
const neverStalled: JobTrace = {
  stalledCount: 0,
  attemptsStarted: 1,
  attemptsMade: 1,
  lastRunStartedAt: KILL_AT - 50,
};
const active = [killWith([jobIdForEvent(ID)])];

describe('chaos world: redelivered after a kill, or a duplicate', () => {
  it('a request the dying process sent, stamped by the receiver just after the kill, then a stalled re-run: a redelivery', () => {
    // the CI case: the receiver's event loop got to the request 2 ms after the kill was recorded
    const verdict = classifyTwiceAcknowledged(
      ID,
      [delivery(KILL_AT + 2), delivery(KILL_AT + 3_900)],
      stalledOnce,
      active,
    );
    expect(verdict).toMatchObject({
      verdict: 'redelivered after kill',
      activeAtKill: true,
      lastRunMs: 3_800,
    });
    expect(verdict.deliveries).toEqual([
      { attempt: '1', arrivedMs: 2, ackedMs: 7 },
      { attempt: '1', arrivedMs: 3_900, ackedMs: 3_905 },
    ]);
  });

  it('an answer given long before the kill that the starved process never recorded: a redelivery', () => {
    const verdict = classifyTwiceAcknowledged(
      ID,
      [delivery(KILL_AT - 1_000, KILL_AT - 800), delivery(KILL_AT + 3_900)],
      stalledOnce,
      active,
    );
    expect(verdict.verdict).toBe('redelivered after kill');
  });

  it('a job no longer active at the kill had its completion recorded: a second delivery is a duplicate', () => {
    const verdict = classifyTwiceAcknowledged(
      ID,
      [delivery(KILL_AT - 20), delivery(KILL_AT + 3_900)],
      stalledOnce,
      [killWith(['ev|GROUP_ADD_ROBOT|another'])],
    );
    expect(verdict).toMatchObject({ verdict: 'duplicate', activeAtKill: false });
  });

  it('a job the stalled-job check never took back was run once: a second delivery is a duplicate', () => {
    const verdict = classifyTwiceAcknowledged(
      ID,
      [delivery(KILL_AT - 20), delivery(KILL_AT + 3_900)],
      neverStalled,
      active,
    );
    expect(verdict.verdict).toBe('duplicate');
  });

  it('more deliveries before the last run than stalls (a second job for the event) is a duplicate', () => {
    const verdict = classifyTwiceAcknowledged(
      ID,
      [delivery(KILL_AT - 20), delivery(KILL_AT + 500), delivery(KILL_AT + 3_900)],
      stalledOnce,
      active,
    );
    expect(verdict.verdict).toBe('duplicate');
  });

  it('two deliveries from the last run is a duplicate', () => {
    const verdict = classifyTwiceAcknowledged(
      ID,
      [delivery(KILL_AT + 3_850), delivery(KILL_AT + 3_900)],
      stalledOnce,
      active,
    );
    expect(verdict.verdict).toBe('duplicate');
  });

  it('no kill, no job in Redis, or Redis unreadable at the kill: duplicates', () => {
    const deliveries = [delivery(KILL_AT - 500), delivery(KILL_AT + 3_900)];
    const cases: [JobTrace | undefined, Kill[]][] = [
      [stalledOnce, []],
      [undefined, active],
      [stalledOnce, [{ at: KILL_AT, activeJobIds: undefined }]],
    ];
    for (const [job, kills] of cases) {
      expect(classifyTwiceAcknowledged(ID, deliveries, job, kills).verdict).toBe('duplicate');
    }
  });

  it('with two kills, the one whose active set held the job is the one the times are relative to', () => {
    const verdict = classifyTwiceAcknowledged(
      ID,
      [delivery(KILL_AT - 500), delivery(KILL_AT + 20_000)],
      { ...stalledOnce, lastRunStartedAt: KILL_AT + 19_000 },
      [killWith([]), { at: KILL_AT + 15_000, activeJobIds: new Set([jobIdForEvent(ID)]) }],
    );
    expect(verdict).toMatchObject({ verdict: 'redelivered after kill', activeAtKill: true });
    expect(verdict.deliveries[0]).toMatchObject({ arrivedMs: -15_500 });
  });
});
