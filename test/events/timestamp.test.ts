import { describe, expect, it } from 'vitest';
import { parseOccurredAt } from '../../src/events/timestamp.js';

describe('parseOccurredAt', () => {
  it.each([
    ['integer epoch seconds (notice events)', 1699240248, '2023-11-06T03:10:48.000Z'],
    ['fractional epoch seconds', 1699240248.5, '2023-11-06T03:10:48.500Z'],
    ['epoch milliseconds (above 1e12)', 1699240248123, '2023-11-06T03:10:48.123Z'],
    ['a numeric string of seconds', '1699240248', '2023-11-06T03:10:48.000Z'],
    ['a numeric string of milliseconds', ' 1699240248123 ', '2023-11-06T03:10:48.123Z'],
    ['RFC 3339 with +08:00 (message events)', '2025-02-15T16:35:23+08:00', '2025-02-15T08:35:23.000Z'],
    ['RFC 3339 in UTC with a fraction', '2025-02-15T08:35:23.25Z', '2025-02-15T08:35:23.250Z'],
    ['RFC 3339 with a negative offset', '2025-02-15T03:35:23-05:00', '2025-02-15T08:35:23.000Z'],
    ['RFC 3339 with a lowercase t and z', '2025-02-15t08:35:23z', '2025-02-15T08:35:23.000Z'],
    [
      'RFC 3339 with a space and nanoseconds',
      '2025-02-15 16:35:23.123456789+08:00',
      '2025-02-15T08:35:23.123Z',
    ],
    ['an offset without a colon', '2025-02-15T16:35:23+0800', '2025-02-15T08:35:23.000Z'],
    [
      'Go format with monotonic clock',
      '2023-09-04 18:42:57.404149365 +0800 CST m=+352051.39',
      '2023-09-04T10:42:57.404Z',
    ],
    [
      'Go format without monotonic clock',
      '2023-09-04 18:42:57.404149365 +0800 CST',
      '2023-09-04T10:42:57.404Z',
    ],
    ['Go format in UTC', '2023-09-04 10:42:57 +0000 UTC', '2023-09-04T10:42:57.000Z'],
    ['Go format with a numeric zone name', '2023-09-04 18:42:57 +0800 +08', '2023-09-04T10:42:57.000Z'],
    ['a leap day', '2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
    ['a leap second (rolled into the next minute)', '2016-12-31T23:59:60Z', '2017-01-01T00:00:00.000Z'],
    ['a year below 100', '0050-06-01T00:00:00Z', '0050-06-01T00:00:00.000Z'],
  ])('reads %s', (_name, value, iso) => {
    expect(parseOccurredAt(value)?.toISOString()).toBe(iso);
  });

  it.each([
    ['garbage', 'garbage'],
    ['an empty string', ''],
    ['a date without a time', '2025-02-15'],
    ['a time without a zone', '2025-02-15T16:35:23'],
    ['month 13', '2025-13-01T00:00:00Z'],
    ['February 30', '2025-02-30T00:00:00Z'],
    ['February 29 of a common year', '2025-02-29T00:00:00Z'],
    ['hour 24', '2025-02-15T24:00:00Z'],
    ['an offset of a day', '2025-02-15T16:35:23+24:00'],
    ['a trailing junk', '2025-02-15T16:35:23+08:00 later'],
    ['a negative number', -5],
    ['zero', 0],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['a number beyond year 9999', 1e16],
    ['a negative numeric string', '-1699240248'],
    ['null', null],
    ['undefined', undefined],
    ['a boolean', true],
    ['an object', { seconds: 1 }],
    ['an array', [1699240248]],
    ['a bigint', 1699240248n],
    ['a date beyond 9999 after its offset', '9999-12-31T23:00:00-05:00'],
  ])('rejects %s', (_name, value) => {
    expect(parseOccurredAt(value)).toBeUndefined();
  });
});
