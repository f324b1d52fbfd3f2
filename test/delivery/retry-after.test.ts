import { describe, expect, it } from 'vitest';
import { parseRetryAfterMs } from '../../src/delivery/retry-after.js';

const NOW = Date.parse('2026-11-25T12:00:00.000Z');

describe('parseRetryAfterMs', () => {
  it.each([
    ['0', 0],
    ['2', 2000],
    [' 120 ', 120_000],
    ['Wed, 25 Nov 2026 12:00:30 GMT', 30_000],
    ['Wednesday, 25-Nov-26 12:01:00 GMT', 60_000],
    ['Wed Nov 25 12:00:05 2026', 5_000],
    ['Wed, 25 Nov 2026 11:00:00 GMT', 0],
  ])('reads %j as %d ms', (header, expected) => {
    expect(parseRetryAfterMs(header, NOW)).toBe(expected);
  });

  it.each([undefined, '', '-1', '1.5', 'soon', '2 seconds', '99999999999999999999', 'Someday, 99 Foo 2026'])(
    'ignores %j',
    (header) => {
      expect(parseRetryAfterMs(header, NOW)).toBeUndefined();
    },
  );

  it('uses the first value when the header is repeated', () => {
    expect(parseRetryAfterMs(['3', '60'], NOW)).toBe(3000);
  });
});
