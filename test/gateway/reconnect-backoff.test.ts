import { describe, expect, it } from 'vitest';
import { DEFAULT_RECONNECT_SCHEDULE_MS, ReconnectBackoff } from '../../src/gateway/reconnect-backoff.js';

describe('ReconnectBackoff', () => {
  it('follows 1, 2, 5, 10, 30, 60 s and repeats the last step forever', () => {
    const backoff = new ReconnectBackoff(DEFAULT_RECONNECT_SCHEDULE_MS, () => 1);
    const delays = Array.from({ length: 9 }, () => backoff.next());
    expect(delays).toEqual([1000, 2000, 5000, 10000, 30000, 60000, 60000, 60000, 60000]);
  });

  it('jitters each step between half and all of it', () => {
    const low = new ReconnectBackoff([1000], () => 0);
    const high = new ReconnectBackoff([1000], () => 0.999999);
    expect(low.next()).toBe(500);
    expect(high.next()).toBe(1000);
  });

  it('honours a minimum delay and restarts the schedule after reset', () => {
    const backoff = new ReconnectBackoff([1000, 2000], () => 1);
    expect(backoff.next(60_000)).toBe(60_000);
    expect(backoff.next()).toBe(2000);
    backoff.reset();
    expect(backoff.next()).toBe(1000);
  });
});
