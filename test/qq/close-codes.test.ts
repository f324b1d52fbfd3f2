import { describe, expect, it } from 'vitest';
import { classifyClose } from '../../src/qq/close-codes.js';

describe('classifyClose', () => {
  it.each([
    [4009, 'resume'],
    [4008, 'resume'],
    [1000, 'resume'],
    [1001, 'resume'],
    [1006, 'resume'],
    [4000, 'resume'],
    [4004, 'refresh-token'],
    [4006, 'identify'],
    [4007, 'identify'],
    [4900, 'identify'],
    [4902, 'identify'],
    [4903, 'identify'],
    [4913, 'identify'],
    [4001, 'config-error'],
    [4002, 'config-error'],
    [4010, 'config-error'],
    [4011, 'config-error'],
    [4012, 'config-error'],
    [4013, 'config-error'],
    [4014, 'config-error'],
    [4914, 'fatal'],
    [4915, 'fatal'],
    [4999, 'resume'],
  ])('close %d → %s', (code, action) => {
    expect(classifyClose(code).action).toBe(action);
  });

  it('waits at least 60 s after 4008 (rate limited)', () => {
    expect(classifyClose(4008).minDelayMs).toBeGreaterThanOrEqual(60_000);
  });

  it('never hot-loops on configuration errors', () => {
    for (const code of [4001, 4002, 4010, 4011, 4012, 4013, 4014]) {
      expect(classifyClose(code).minDelayMs).toBeGreaterThanOrEqual(5 * 60_000);
    }
  });
});
