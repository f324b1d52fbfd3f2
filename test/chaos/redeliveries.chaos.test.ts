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
  arrivedAt,
  ackedAt,
});
const stalledOnce: JobTrace = { stalledCount: 1, attemptsStarted: 2, attemptsMade: 1 };
const neverStalled: JobTrace = { stalledCount: 0, attemptsStarted: 1, attemptsMade: 1 };

describe('chaos world: redelivered after a kill, or a duplicate', () => {
  it('a delivery acknowledged long before the kill, whose job was still active and then stalled, is a redelivery', () => {
    // the CI case: acknowledged 800 ms before the kill, which a 250 ms window called a duplicate
    const verdict = classifyTwiceAcknowledged(
      ID,
      [delivery(KILL_AT - 1_000, KILL_AT - 800), delivery(KILL_AT + 3_900)],
      stalledOnce,
      [killWith([jobIdForEvent(ID)])],
    );
    expect(verdict).toMatchObject({ verdict: 'redelivered after kill', activeAtKill: true });
    expect(verdict.deliveries).toEqual([
      { attempt: '1', arrivedMs: -1_000, ackedMs: -800 },
      { attempt: '1', arrivedMs: 3_900, ackedMs: 3_905 },
    ]);
  });

  it('a job no longer active at the kill had its completion recorded: a second delivery is a duplicate', () => {
    const verdict = classifyTwiceAcknowledged(
      ID,
      [delivery(KILL_AT - 20, KILL_AT - 10), delivery(KILL_AT + 3_900)],
      stalledOnce,
      [killWith(['ev|GROUP_ADD_ROBOT|another'])],
    );
    expect(verdict).toMatchObject({ verdict: 'duplicate', activeAtKill: false });
  });

  it('a job the stalled-job check never took back was not re-run: a second delivery is a duplicate', () => {
    const verdict = classifyTwiceAcknowledged(
      ID,
      [delivery(KILL_AT - 20), delivery(KILL_AT + 3_900)],
      neverStalled,
      [killWith([jobIdForEvent(ID)])],
    );
    expect(verdict.verdict).toBe('duplicate');
  });

  it('more extra deliveries than stalls (a second job for the event) is a duplicate', () => {
    const verdict = classifyTwiceAcknowledged(
      ID,
      [delivery(KILL_AT - 20), delivery(KILL_AT + 500), delivery(KILL_AT + 3_900)],
      stalledOnce,
      [killWith([jobIdForEvent(ID)])],
    );
    expect(verdict.verdict).toBe('duplicate');
  });

  it('two deliveries before the kill, or no kill, or no job in Redis, or Redis unreadable at the kill: duplicates', () => {
    const active = [killWith([jobIdForEvent(ID)])];
    const cases: [AcknowledgedDelivery[], JobTrace | undefined, Kill[]][] = [
      [[delivery(KILL_AT - 500), delivery(KILL_AT - 100)], stalledOnce, active],
      [[delivery(KILL_AT - 500), delivery(KILL_AT + 3_900)], stalledOnce, []],
      [[delivery(KILL_AT - 500), delivery(KILL_AT + 3_900)], undefined, active],
      [
        [delivery(KILL_AT - 500), delivery(KILL_AT + 3_900)],
        stalledOnce,
        [{ at: KILL_AT, activeJobIds: undefined }],
      ],
    ];
    for (const [deliveries, job, kills] of cases) {
      expect(classifyTwiceAcknowledged(ID, deliveries, job, kills).verdict).toBe('duplicate');
    }
  });

  it('with two kills, the one whose active set held the job is the one that counts', () => {
    const verdict = classifyTwiceAcknowledged(
      ID,
      [delivery(KILL_AT - 500), delivery(KILL_AT + 20_000)],
      stalledOnce,
      [killWith([]), { at: KILL_AT + 15_000, activeJobIds: new Set([jobIdForEvent(ID)]) }],
    );
    expect(verdict).toMatchObject({ verdict: 'redelivered after kill', activeAtKill: true });
    expect(verdict.deliveries[0]).toMatchObject({ arrivedMs: -15_500 });
  });
});
