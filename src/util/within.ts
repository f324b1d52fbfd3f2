import { withTimeout } from './with-timeout.js';

/** Resolves true when `promise` settles within `ms`, false otherwise; the timer never outlives the wait. */
export function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return withTimeout(
    promise.then(() => true),
    Math.max(0, ms),
    () => false,
  );
}
