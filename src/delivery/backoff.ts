/** The retry timing of one target (from `retry:` in the config). */
export interface BackoffSettings {
  /** Upper bound of the first retry's delay, ms. */
  readonly baseMs: number;
  /** Cap of every delay, including a server's `Retry-After`, ms. */
  readonly maxMs: number;
}

/**
 * Delay before the next attempt: exponential with full jitter (a uniform draw in [0, base·2^(n-1)]), capped at
 * `maxMs`. Full jitter spreads the retries of a burst of failed deliveries instead of sending them back at the
 * target in lockstep. When the server sent `Retry-After`, we wait at least that long — but never longer than
 * `maxMs`, so a hostile or buggy header cannot park a delivery for days.
 *
 * @param attemptsMade - attempts made so far, including the one that just failed (1 after the first failure)
 * @param random - returns a number in [0, 1); injectable so tests are exact
 * @param retryAfterMs - the server's `Retry-After`, already converted to ms
 * @returns whole milliseconds, in [0, maxMs]
 */
export function retryDelayMs(
  attemptsMade: number,
  settings: BackoffSettings,
  random: () => number = Math.random,
  retryAfterMs?: number,
): number {
  const maxMs = Math.max(0, settings.maxMs);
  const exponent = Math.max(0, Math.floor(attemptsMade) - 1);
  // 2 ** exponent overflows to Infinity after ~1000 attempts; Math.min keeps that harmless.
  const ceilingMs = Math.min(maxMs, Math.max(0, settings.baseMs) * 2 ** exponent);
  const draw = Math.min(Math.max(random(), 0), 1);
  const jitteredMs = Math.floor(draw * ceilingMs);
  const serverMs =
    retryAfterMs !== undefined && Number.isFinite(retryAfterMs) ? Math.max(0, retryAfterMs) : 0;
  return Math.min(maxMs, Math.max(jitteredMs, Math.ceil(serverMs)));
}
