const DELTA_SECONDS = /^\s*(\d+)\s*$/;

/**
 * Parses a `Retry-After` header (RFC 9110 §10.2.3: delta-seconds or an HTTP-date) into a wait in milliseconds.
 * A date in the past means "now" (0). Anything unparseable yields undefined, so a misbehaving server can never
 * break delivery: the caller just falls back to its own backoff.
 *
 * @param value - the raw header; undici gives an array when the header is repeated, and the first one wins
 * @param nowMs - the current time in unix ms, injectable for tests
 */
export function parseRetryAfterMs(
  value: string | readonly string[] | undefined,
  nowMs: number = Date.now(),
): number | undefined {
  const raw = typeof value === 'string' ? value : value?.[0];
  if (raw === undefined) return undefined;
  const delta = DELTA_SECONDS.exec(raw);
  if (delta) {
    const seconds = Number(delta[1]);
    return Number.isSafeInteger(seconds) ? seconds * 1000 : undefined;
  }
  // Only accept something that looks like a date, because Date.parse happily reads bare numbers like "-5" or "1.5".
  if (!/[a-z]/i.test(raw)) return undefined;
  const at = Date.parse(raw);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}
