import { EventEmitter } from 'node:events';

/**
 * The abort handle of one delivery attempt, given to undici as its `signal` (undici accepts an EventEmitter with
 * an `abort` event as well as an AbortSignal). An AbortController per attempt costs an EventTarget, and relaying
 * the shared shutdown signal to it an `addEventListener` and `removeEventListener` per attempt; at full throughput
 * these were a visible share of the worker's CPU. This is a plain emitter, and the shutdown relay is a set entry.
 */
export class AttemptAbort extends EventEmitter {
  /** Read by undici before it dispatches: an attempt aborted before it started is never sent. */
  aborted = false;

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.emit('abort');
  }
}

/** In-flight attempts by the outer signal they follow; one 'abort' listener per signal, added when first seen. */
const followers = new WeakMap<AbortSignal, Set<AttemptAbort>>();

function followersOf(signal: AbortSignal): Set<AttemptAbort> {
  let set = followers.get(signal);
  if (set === undefined) {
    const created = new Set<AttemptAbort>();
    signal.addEventListener(
      'abort',
      () => {
        for (const attempt of created) attempt.abort();
        created.clear();
      },
      { once: true },
    );
    followers.set(signal, created);
    set = created;
  }
  return set;
}

/**
 * Makes `attempt` abort when `signal` does (at once when it already has). Returns the function that stops
 * following, to be called when the attempt is over, so the set holds only attempts in flight.
 */
export function follow(attempt: AttemptAbort, signal: AbortSignal | undefined): () => void {
  if (signal === undefined) return () => undefined;
  if (signal.aborted) {
    attempt.abort();
    return () => undefined;
  }
  const set = followersOf(signal);
  set.add(attempt);
  return () => set.delete(attempt);
}
