import { describe, expect, it } from 'vitest';
import { parseDurationMs } from '../src/util/duration.js';

describe('parseDurationMs', () => {
  it.each([
    ['500ms', 500],
    ['10s', 10_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['7d', 604_800_000],
    ['250', 250],
    [1500, 1500],
  ])('reads %s as %d ms', (input, expected) => {
    expect(parseDurationMs(input)).toBe(expected);
  });

  it.each(['', 'ten seconds', '-1s', '5 years', '1.5.2s'])('rejects %j', (input) => {
    expect(parseDurationMs(input)).toBeUndefined();
  });
});
