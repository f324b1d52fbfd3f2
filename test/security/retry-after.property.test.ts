/**
 * Hostile `Retry-After` headers: whatever a target answers, the parser yields no wait or a finite, non-negative
 * one, so a misbehaving receiver can never make the backoff NaN, negative or infinite.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRetryAfterMs } from '../../src/delivery/retry-after.js';

const RUNS = 1000;

/** Header values near the two valid forms, where a parser is most likely to slip. */
const nearlyValid = fc.oneof(
  fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map(String),
  fc.double().map(String),
  fc
    .tuple(
      fc.constantFrom('', ' ', '\t', '+', '-', '0x', '1e', '.'),
      fc.nat(),
      fc.constantFrom('', ' ', 's', '.5'),
    )
    .map(([before, n, after]) => `${before}${n}${after}`),
  fc.date({ noInvalidDate: true }).map((d) => d.toUTCString()),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom(
    'Wed, 21 Oct 2015 07:28:00 GMT',
    'Sat, 13 Sep 275760 00:00:00 GMT',
    'Tue, 20 Apr -271821 00:00:00 GMT',
    'Infinity',
    '-Infinity',
    'NaN',
    '9'.repeat(400),
    'Thu, 01 Jan 1970 00:00:00 GMT',
  ),
);

const anyHeader = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.string({ maxLength: 80 }),
  nearlyValid,
);

function isValidWait(value: number | undefined): boolean {
  return value === undefined || (Number.isFinite(value) && value >= 0);
}

describe('parseRetryAfterMs on hostile headers (property)', () => {
  it('returns undefined or a finite non-negative wait for any string, at any time', () => {
    fc.assert(
      fc.property(anyHeader, fc.integer({ min: 0, max: 8.64e15 }), (header, nowMs) => {
        expect(isValidWait(parseRetryAfterMs(header, nowMs))).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it('does the same for a repeated header (undici hands over an array)', () => {
    fc.assert(
      fc.property(fc.array(anyHeader, { maxLength: 4 }), (headers) => {
        expect(isValidWait(parseRetryAfterMs(headers))).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });
});
