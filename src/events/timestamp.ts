/**
 * Lenient parsing of QQ's event timestamps (docs/qq-protocol.md §5.0, §9 item 14): notice events send integer epoch
 * seconds, message and interaction events RFC 3339 strings, and 2023-era payloads Go's `time.Time.String()`
 * (`2023-09-04 18:42:57.404149365 +0800 CST m=+352051.39`).
 */

/** Numbers above this are epoch milliseconds (1e12 s is the year 33658; 1e12 ms is 2001). */
const MS_THRESHOLD = 1e12;
/** 9999-12-31T23:59:59.999Z: beyond it `toISOString()` leaves RFC 3339 (`+010000-…`). */
const MAX_MS = 253_402_300_799_999;
/** 0000-01-01T00:00:00.000Z, the other end of what RFC 3339 can write. */
const MIN_MS = -62_167_219_200_000;

const NUMERIC = /^\d+(?:\.\d+)?$/;

const DATE = String.raw`(?<year>\d{4})-(?<month>\d{2})-(?<day>\d{2})`;
const TIME = String.raw`(?<hour>\d{2}):(?<minute>\d{2}):(?<second>\d{2})(?:\.(?<fraction>\d+))?`;
const OFFSET = String.raw`(?<sign>[+-])(?<offsetHours>\d{2}):?(?<offsetMinutes>\d{2})`;

/** RFC 3339 (`T`, `t` or a space between date and time), also with a `±hhmm` offset. */
const RFC_3339 = new RegExp(String.raw`^${DATE}[Tt ]${TIME}(?:[Zz]|${OFFSET})$`);

/** Go's `time.Time.String()`: `2006-01-02 15:04:05.999999999 -0700 MST`, optionally `m=±<monotonic>`. */
const GO_TIME = new RegExp(
  String.raw`^${DATE} ${TIME} ${OFFSET}(?: (?:[A-Za-z]{1,6}|[+-]\d{2,4}))?(?: m=[+-]\d+(?:\.\d+)?)?$`,
);

/** The Gregorian calendar repeats every 400 years: 146097 days. */
const FOUR_CENTURIES_MS = 146_097 * 86_400_000;

function fromEpoch(value: number): Date | undefined {
  if (!Number.isFinite(value) || value <= 0) return undefined;
  return inRange(value > MS_THRESHOLD ? value : value * 1000);
}

function inRange(ms: number): Date | undefined {
  const rounded = Math.floor(ms);
  return rounded >= MIN_MS && rounded <= MAX_MS ? new Date(rounded) : undefined;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  return month === 2 && isLeapYear(year) ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0);
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

function fromDateTime(text: string): Date | undefined {
  const g = (RFC_3339.exec(text) ?? GO_TIME.exec(text))?.groups;
  if (!g) return undefined;
  const num = (part: string | undefined): number => Number(part ?? 0);
  const [year, month, day] = [num(g.year), num(g.month), num(g.day)];
  const [hour, minute, second] = [num(g.hour), num(g.minute), num(g.second)];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  // 60 is a leap second (RFC 3339 §5.7); Date cannot hold it, so it rolls into the next minute.
  if (hour > 23 || minute > 59 || second > 60) return undefined;
  const offsetMinutes = (g.sign === '-' ? -1 : 1) * (num(g.offsetHours) * 60 + num(g.offsetMinutes));
  if (Math.abs(offsetMinutes) >= 24 * 60) return undefined;
  const millis = Number((g.fraction ?? '').slice(0, 3).padEnd(3, '0'));
  // Date.UTC reads years 0–99 as 1900–1999, so those dates are computed 400 years later and moved back.
  const early = year < 100;
  const utc = Date.UTC(early ? year + 400 : year, month - 1, day, hour, minute, second, millis);
  return inRange((early ? utc - FOUR_CENTURIES_MS : utc) - offsetMinutes * 60_000);
}

/**
 * Reads an event timestamp: epoch seconds as a number or numeric string (milliseconds when above 1e12), an RFC 3339
 * string, or a Go-formatted string. Returns undefined for anything else, for values ≤ 0, and for instants outside
 * the years 0000–9999, so callers can fall back and report the value.
 */
export function parseOccurredAt(value: unknown): Date | undefined {
  if (typeof value === 'number') return fromEpoch(value);
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (NUMERIC.test(text)) return fromEpoch(Number(text));
  return fromDateTime(text);
}
