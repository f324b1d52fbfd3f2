import { setTimeout as delay } from 'node:timers/promises';
import { BridgeError } from '../errors.js';

/** Waits `ms`, or less if `signal` aborts; never rejects, so shutdown paths stay simple. */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return;
  try {
    await delay(ms, undefined, signal ? { signal } : {});
  } catch {
    // aborted: the caller checks signal.aborted when it cares
  }
}

/**
 * Settles like `work`, or rejects with BRIDGE_ERR_ABORTED (saying it was interrupted while `what`) as soon as
 * `signal` aborts. `work` itself is not cancelled: its owner ends it on stop, and its late outcome is dropped here,
 * so a rejection after the abort is never unhandled.
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
  if (!signal) return work;
  const aborted = (): BridgeError => new BridgeError('BRIDGE_ERR_ABORTED', `interrupted while ${what}`);
  let onAbort = (): void => undefined;
  const abortion = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(aborted());
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  // race() subscribes to `work`, so its rejection after the abort is handled (and dropped).
  return Promise.race([work, abortion]).finally(() => signal.removeEventListener('abort', onAbort));
}

/**
 * Runs `fn` after `ms` unless `signal` aborts first: the timer is cleared on abort, so a timer armed under a
 * signal can never outlive it. Returns a function that cancels just this timer.
 */
export function timeoutUnder(signal: AbortSignal, ms: number, fn: () => void): () => void {
  if (signal.aborted) return () => undefined;
  const cancel = (): void => {
    clearTimeout(timer);
    signal.removeEventListener('abort', cancel);
  };
  const timer = setTimeout(() => {
    signal.removeEventListener('abort', cancel);
    fn();
  }, ms);
  signal.addEventListener('abort', cancel, { once: true });
  return cancel;
}
