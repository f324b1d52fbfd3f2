import type { DispatchFrame } from '../events/envelope.js';

/**
 * One event the gateway could not enqueue. The raw frame is stored rather than the envelope so that the one
 * normalizer runs at drain time too (a fix to it applies to spilled events); `receivedAt` keeps the original
 * receive time, which becomes the envelope's `received_at`.
 */
export interface JournalEntry {
  frame: DispatchFrame;
  /** [shard id, shard count] of the session that received the frame. */
  shard: [number, number];
  /** ISO 8601 time the gateway read the frame. */
  receivedAt: string;
}

/**
 * Serializes a batch as JSON lines. `JSON.stringify` escapes every newline inside strings, so `\n` only ever
 * ends a line, and UTF-8 never uses byte 0x0A inside a multi-byte character: lines can be split on raw bytes.
 */
export function encodeJournalEntries(entries: readonly JournalEntry[]): Buffer {
  return Buffer.from(entries.map((entry) => `${JSON.stringify(entry)}\n`).join(''), 'utf8');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isShard(value: unknown): value is [number, number] {
  return Array.isArray(value) && value.length === 2 && value.every((n) => Number.isSafeInteger(n));
}

/**
 * Reads one journal line back; undefined when the line is not a journal entry (a torn or corrupted write).
 * Only the fields the drain needs are checked: the frame's content is the normalizer's business, which accepts
 * anything.
 */
export function parseJournalEntry(line: string): JournalEntry | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!isRecord(value)) return undefined;
  const { frame, shard, receivedAt } = value;
  if (!isRecord(frame) || typeof frame['t'] !== 'string' || !isShard(shard)) return undefined;
  if (typeof receivedAt !== 'string' || Number.isNaN(Date.parse(receivedAt))) return undefined;
  return { frame: frame as unknown as DispatchFrame, shard, receivedAt };
}
