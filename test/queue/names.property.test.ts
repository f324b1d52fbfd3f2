/**
 * Job ids made from event ids: one-to-one and reversible for any string, and unchanged for the ids jobs already in
 * Redis were enqueued under before `%` and `|` were escaped.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { eventIdFromJobId, jobIdForEvent } from '../../src/queue/names.js';

/** The job ids of the scheme before the escaping, as jobs already in Redis carry them. */
const legacyJobId = (eventId: string): string => `ev|${eventId.replaceAll(':', '|')}`;

/** Strings rich in the characters the escaping is about, and in what looks like an escape. */
const idLike = fc.oneof(
  fc.string({ unit: fc.constantFrom('%', '|', ':', '7', 'C', 'c', '2', '5', 'A', 'e', 'v'), maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
);

/** Two ids, often one made from the other by the substitutions an escaping could confuse. */
const pairOfIds = fc.oneof(
  fc.tuple(idLike, idLike),
  idLike.chain((a) =>
    fc
      .constantFrom(
        a.replaceAll(':', '|'),
        a.replaceAll('|', ':'),
        a.replaceAll('|', '%7C'),
        a.replaceAll('%7C', '|'),
        a.replaceAll('%', '%25'),
        a.replaceAll('%25', '%'),
      )
      .map((b) => [a, b] as const),
  ),
);

describe('jobIdForEvent / eventIdFromJobId (property)', () => {
  it('round-trips every string', () => {
    fc.assert(
      fc.property(idLike, (eventId) => {
        expect(eventIdFromJobId(jobIdForEvent(eventId))).toBe(eventId);
      }),
      { numRuns: 2_000 },
    );
  });

  it('gives different event ids different job ids', () => {
    fc.assert(
      fc.property(pairOfIds, ([a, b]) => {
        fc.pre(a !== b);
        expect(jobIdForEvent(a)).not.toBe(jobIdForEvent(b));
      }),
      { numRuns: 2_000 },
    );
  });

  it('makes job ids BullMQ accepts: no colon, never an integer', () => {
    fc.assert(
      fc.property(idLike, (eventId) => {
        const jobId = jobIdForEvent(eventId);
        expect(jobId).not.toContain(':');
        expect(jobId.startsWith('ev|')).toBe(true);
      }),
    );
  });

  it('keeps the job id of every event id without % or |, so jobs enqueued before are found', () => {
    const withoutEscapes = idLike.filter((id) => !id.includes('%') && !id.includes('|'));
    fc.assert(
      fc.property(withoutEscapes, (eventId) => {
        expect(jobIdForEvent(eventId)).toBe(legacyJobId(eventId));
        expect(eventIdFromJobId(legacyJobId(eventId))).toBe(eventId);
      }),
      { numRuns: 1_000 },
    );
  });
});

describe('jobIdForEvent', () => {
  it.each([
    ['GROUP_ADD_ROBOT:39ab91b8', 'ev|GROUP_ADD_ROBOT|39ab91b8'],
    ['A:b', 'ev|A|b'],
    ['A|b', 'ev|A%7Cb'],
    ['100%:x', 'ev|100%25|x'],
    ['%7C', 'ev|%257C'],
  ])('maps %j to %j', (eventId, jobId) => {
    expect(jobIdForEvent(eventId)).toBe(jobId);
    expect(eventIdFromJobId(jobId)).toBe(eventId);
  });

  it('reads a job id made before the escaping, with a % in it, as that event id', () => {
    expect(eventIdFromJobId(legacyJobId('GROUP_ADD_ROBOT:50%off'))).toBe('GROUP_ADD_ROBOT:50%off');
  });
});
