/** Resolves after `ms`. Bench loops are bounded by deadlines, so nothing here needs to be abortable. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Yields to the event loop (I/O callbacks run) without the ≥1 ms of a timer. */
export function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
