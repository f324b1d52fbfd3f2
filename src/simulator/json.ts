/** A plain JSON object (not an array, not null). Peers are untrusted, so every field is `unknown` until checked. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export type JsonParseResult = { ok: true; value: unknown } | { ok: false; error: string };

/** JSON.parse that reports instead of throwing, so handlers of untrusted input have one code path. */
export function parseJson(text: string): JsonParseResult {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

/** True for a safe integer ≥ 0, the only shape a seq, shard id or intents mask may take. */
export function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
