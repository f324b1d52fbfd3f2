/**
 * The one duration grammar of the bridge, for the config file and the command line alike: a non-negative number
 * and a unit, with nothing in between — `500ms`, `10s`, `1.5m`, `1h`, `7d`. A day (`d`) is exactly 24 hours
 * (86 400 000 ms): durations measure elapsed time, not calendar days, so daylight-saving changes do not apply.
 * A bare number is refused: `10` is too easy to read as seconds when it would be milliseconds, or the reverse.
 *
 * @packageDocumentation
 */

/** Every unit, with its length in ms. */
export const DURATION_UNITS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** A unit of {@link DURATION_UNITS}. */
export type DurationUnit = keyof typeof DURATION_UNITS;

/** Exactly the accepted spellings; the JSON Schema carries it, so editors flag what the loader would refuse. */
export const DURATION_PATTERN = /^\d+(?:\.\d+)?(?:ms|s|m|h|d)$/;

/** The longest duration: the largest number of ms that is still an exact integer (about 285 000 years). */
export const MAX_DURATION_MS = Number.MAX_SAFE_INTEGER;

/** The units as a list for messages: `ms, s, m, h, d`. */
export const DURATION_UNIT_LIST = Object.keys(DURATION_UNITS).join(', ');

/** Examples for messages. */
export const DURATION_EXAMPLES = '500ms, 10s, 5m, 1h or 7d';

const MAX_DURATION_DAYS = Math.floor(MAX_DURATION_MS / DURATION_UNITS.d);
const BARE_NUMBER = /^\d+(?:\.\d+)?$/;
/** Longest bare number reused in an example; a longer one would only make the message harder to read. */
const MAX_EXAMPLE_DIGITS = 12;

/** What {@link parseDuration} returns: the ms, or why the text is not a duration. */
export type DurationResult = { readonly ms: number } | { readonly problem: string };

/**
 * Reads a duration. The `problem` is a phrase that follows the value it is about, so each caller can say where
 * the value came from: `--older-than: "7" has no unit; write it with one of ms, s, m, h, d, e.g. 7d`.
 *
 * @param exampleUnit - the unit suggested to a bare number (`7` → `7d`); pick the one the setting is usually
 *   written in. Default `s`.
 */
export function parseDuration(text: string, exampleUnit: DurationUnit = 's'): DurationResult {
  if (BARE_NUMBER.test(text)) {
    const example = text.length <= MAX_EXAMPLE_DIGITS ? `${text}${exampleUnit}` : `1${exampleUnit}`;
    return { problem: `has no unit; write it with one of ${DURATION_UNIT_LIST}, e.g. ${example}` };
  }
  if (text.startsWith('-') && (DURATION_PATTERN.test(text.slice(1)) || BARE_NUMBER.test(text.slice(1)))) {
    return { problem: `is negative; a duration is zero or more, like 1${exampleUnit}` };
  }
  if (!DURATION_PATTERN.test(text)) {
    return {
      problem: `is not a duration; write a number and one of ${DURATION_UNIT_LIST}, like ${DURATION_EXAMPLES}`,
    };
  }
  const unit = /[a-z]+$/.exec(text)?.[0] as DurationUnit;
  const ms = Math.round(Number(text.slice(0, -unit.length)) * DURATION_UNITS[unit]);
  if (!Number.isSafeInteger(ms)) {
    return { problem: `is too long; the longest duration is ${MAX_DURATION_DAYS}d (${MAX_DURATION_MS} ms)` };
  }
  return { ms };
}

/**
 * The ms of a duration, or undefined when `text` is not one (see {@link parseDuration} for the message saying
 * why). For values already validated, like the config's.
 */
export function parseDurationMs(text: string): number | undefined {
  const result = parseDuration(text);
  return 'ms' in result ? result.ms : undefined;
}

/**
 * Writes ms back in the largest unit that divides them, for messages: `604800000` → `7d`, `90000` → `90s`.
 */
export function formatDuration(ms: number): string {
  const units = Object.entries(DURATION_UNITS).reverse() as [DurationUnit, number][];
  for (const [unit, length] of units) {
    if (ms !== 0 && ms % length === 0) return `${ms / length}${unit}`;
  }
  return `${ms}ms`;
}
