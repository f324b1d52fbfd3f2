import { describe, expect, it } from 'vitest';
import { retryDelayMs } from '../../src/delivery/backoff.js';

const settings = { baseMs: 1000, maxMs: 60_000 };
const top = (): number => 0.999_999;

describe('retryDelayMs', () => {
  it.each([
    [1, 999],
    [2, 1999],
    [3, 3999],
    [6, 31_999],
    [7, 59_999],
    [40, 59_999],
    [5000, 59_999],
  ])('after %d attempts draws below min(max, base·2^(n-1)): %d with random≈1', (attempts, expected) => {
    expect(retryDelayMs(attempts, settings, top)).toBe(expected);
  });

  it('is full jitter: random 0 gives no wait, 0.5 gives half the ceiling', () => {
    expect(retryDelayMs(3, settings, () => 0)).toBe(0);
    expect(retryDelayMs(3, settings, () => 0.5)).toBe(2000);
  });

  it('stays within [0, ceiling] for many random draws', () => {
    for (let i = 0; i < 1000; i += 1) {
      const delay = retryDelayMs(4, settings);
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThanOrEqual(8000);
      expect(Number.isInteger(delay)).toBe(true);
    }
  });

  it('waits at least Retry-After when it is longer than the jittered delay', () => {
    expect(retryDelayMs(1, settings, () => 0.5, 30_000)).toBe(30_000);
  });

  it('keeps the jittered delay when it is longer than Retry-After', () => {
    expect(retryDelayMs(6, settings, () => 0.5, 2000)).toBe(16_000);
  });

  it('never waits longer than maxMs, even when Retry-After asks for more', () => {
    expect(retryDelayMs(1, settings, () => 0, 3_600_000)).toBe(60_000);
  });

  it('treats attempt counts below 1 as the first retry', () => {
    expect(retryDelayMs(0, settings, top)).toBe(999);
  });
});
