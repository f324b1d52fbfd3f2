import { setTimeout as delay } from 'node:timers/promises';

const POLL_INTERVAL_MS = 10;

/**
 * Polls `read()` until `predicate` holds and returns that snapshot (the state, or the message log). On timeout the
 * error carries the last snapshot, so a failing test shows what the simulator saw instead of only "timed out".
 */
export async function waitForState<T>(
  read: () => T,
  predicate: (state: T) => boolean,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = read();
    if (predicate(state)) return state;
    if (Date.now() >= deadline) {
      throw new Error(
        `simulator waitFor: condition not met within ${timeoutMs} ms; last state: ${JSON.stringify(state)}`,
      );
    }
    await delay(POLL_INTERVAL_MS);
  }
}
