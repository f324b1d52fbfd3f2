import { describe, expect, it } from 'vitest';
import { BridgeError, isBridgeError } from '../../src/errors.js';
import { withTimeout } from '../../src/util/with-timeout.js';

const never = (): Promise<never> => new Promise(() => undefined);
const timers = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;

describe('withTimeout', () => {
  it('resolves with the promise when it settles first, and clears its timer', async () => {
    const before = timers();
    expect(await withTimeout(Promise.resolve(7), 10_000)).toBe(7);
    await expect(withTimeout(Promise.reject(new Error('boom')), 10_000)).rejects.toThrow('boom');
    expect(timers()).toBe(before);
  });

  it('rejects with "no answer within <ms> ms" by default', async () => {
    await expect(withTimeout(never(), 20)).rejects.toThrow('no answer within 20 ms');
  });

  it('rejects with what onTimeout throws, or resolves with what it returns', async () => {
    const err: unknown = await withTimeout(never(), 20, () => {
      throw new BridgeError('BRIDGE_ERR_REDIS', 'enqueue did not finish within 20 ms');
    }).catch((e: unknown) => e);
    expect(isBridgeError(err, 'BRIDGE_ERR_REDIS')).toBe(true);
    expect((err as Error).message).toBe('enqueue did not finish within 20 ms');
    expect(await withTimeout(never(), 20, () => false)).toBe(false);
  });
});
