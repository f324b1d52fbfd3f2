import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration, parseDurationMs } from '../../src/util/duration.js';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['10s', 10_000],
    ['1.5m', 90_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['7d', 604_800_000],
    ['0s', 0],
    ['104249991d', 104_249_991 * 86_400_000],
  ])('reads %s as %d ms', (input, expected) => {
    expect(parseDuration(input)).toEqual({ ms: expected });
    expect(parseDurationMs(input)).toBe(expected);
  });

  it.each([
    ['7', 'd', 'has no unit; write it with one of ms, s, m, h, d, e.g. 7d'],
    ['250', 's', 'has no unit; write it with one of ms, s, m, h, d, e.g. 250s'],
    ['1234567890123', 's', 'has no unit; write it with one of ms, s, m, h, d, e.g. 1s'],
    ['-1s', 's', 'is negative; a duration is zero or more, like 1s'],
    ['-7', 'd', 'is negative; a duration is zero or more, like 1d'],
    ['104249992d', 's', 'is too long; the longest duration is 104249991d (9007199254740991 ms)'],
    [`${'9'.repeat(400)}ms`, 's', 'is too long; the longest duration is 104249991d (9007199254740991 ms)'],
    ['', 's', 'is not a duration; write a number and one of ms, s, m, h, d, like 500ms, 10s, 5m, 1h or 7d'],
    [
      'ten seconds',
      's',
      'is not a duration; write a number and one of ms, s, m, h, d, like 500ms, 10s, 5m, 1h or 7d',
    ],
    [
      '5 years',
      's',
      'is not a duration; write a number and one of ms, s, m, h, d, like 500ms, 10s, 5m, 1h or 7d',
    ],
    [
      '1.5.2s',
      's',
      'is not a duration; write a number and one of ms, s, m, h, d, like 500ms, 10s, 5m, 1h or 7d',
    ],
    [
      '7 d',
      's',
      'is not a duration; write a number and one of ms, s, m, h, d, like 500ms, 10s, 5m, 1h or 7d',
    ],
    [
      'Infinityd',
      's',
      'is not a duration; write a number and one of ms, s, m, h, d, like 500ms, 10s, 5m, 1h or 7d',
    ],
    [
      '1e3s',
      's',
      'is not a duration; write a number and one of ms, s, m, h, d, like 500ms, 10s, 5m, 1h or 7d',
    ],
  ] as const)('refuses %j, saying why', (input, exampleUnit, problem) => {
    expect(parseDuration(input, exampleUnit)).toEqual({ problem });
    expect(parseDurationMs(input)).toBeUndefined();
  });
});

describe('formatDuration', () => {
  it.each([
    [604_800_000, '7d'],
    [129_600_000, '36h'],
    [90_000, '90s'],
    [1_500, '1500ms'],
    [0, '0ms'],
  ])('writes %d ms as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
    expect(parseDurationMs(text)).toBe(ms);
  });
});
