import { setTimeout as delay } from 'node:timers/promises';
import type { SimulatorState } from './state.js';

const POLL_INTERVAL_MS = 10;

/**
 * Polls `read()` until `predicate` holds and returns that state. On timeout the error carries the last state, so a
 * failing test shows what the simulator saw instead of only "timed out".
 */
export async function waitForState(
  read: () => SimulatorState,
  predicate: (state: SimulatorState) => boolean,
  timeoutMs: number,
): Promise<SimulatorState> {
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
