/**
 * Dispatch frame → envelope (docs/design.md §3). Pure: no I/O, no clock (the receive time comes in the context), and it
 * never throws, whatever the frame holds — an event the bridge cannot read is still delivered, with `malformed`
 * saying what was wrong, because dropping it would lose it for good once the gateway's seq moves past it.
 */
import { describeError } from '../errors.js';
import { catalogEntryFor, UNKNOWN_EVENT_TYPE, type CatalogEntry } from './catalog.js';
import { checkFields, describeKind, isRecord, mismatch, type JsonRecord } from './check.js';
import { ENVELOPE_VERSION, type DispatchFrame, type Envelope } from './envelope.js';
import { dedupeKeyOf, eventIdOf, frameEventId, hashedEventId } from './event-id.js';
import { keepAsIs } from './map-data.js';
import { parseOccurredAt } from './timestamp.js';

export interface NormalizeContext {
  /** The bot's app id, copied to `app_id`. */
  appId: string;
  /** [shard id, shard count]; [0, 1] for the webhook ingress. */
  shard: [number, number];
  /** When the bridge read the frame; `received_at`, and `occurred_at` when the event has no usable timestamp. */
  receivedAt: Date;
}

export interface NormalizedEvent {
  /** The envelope every target receives (without `raw`, which the producer adds per target). */
  envelope: Envelope;
  /** What the producer dedupes on: `msg:<d.id>` for messages, else the envelope id. */
  dedupeKey: string;
}

/** The frame's fields, each either usable or replaced, with one note per replacement. */
interface ReadFrame {
  frame: DispatchFrame;
  notes: string[];
}

function seqOf(s: unknown): number | null {
  return typeof s === 'number' && Number.isSafeInteger(s) ? s : null;
}

function readFrame(input: unknown): ReadFrame {
  const notes: string[] = [];
  if (!isRecord(input)) notes.push(mismatch('frame', 'an object', input));
  const raw: JsonRecord = isRecord(input) ? input : {};
  const { t, id, s, d } = raw;
  if (typeof t !== 'string') notes.push(mismatch('t', 'a string', t));
  if (id !== undefined && id !== null && typeof id !== 'string') notes.push(mismatch('id', 'a string', id));
  const seq = seqOf(s);
  if (s !== undefined && s !== null && seq === null) notes.push(mismatch('s', 'an integer', s));
  const frame: DispatchFrame = { op: 0, t: typeof t === 'string' ? t : '', d, s: seq };
  if (typeof id === 'string') frame.id = id;
  return { frame, notes };
}

function dataOf(entry: CatalogEntry | undefined, d: unknown): { data: JsonRecord; notes: string[] } {
  if (!isRecord(d))
    return { data: d === undefined ? {} : { value: d }, notes: [mismatch('d', 'an object', d)] };
  if (!entry) return { data: keepAsIs(d), notes: [] };
  return { data: entry.toData(d), notes: checkFields(d, entry.rules) };
}

/** A short, safe rendering of a bad value for a message. */
function preview(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return describeKind(value);
}

function occurredAtOf(d: unknown, receivedAt: string): { occurredAt: string; notes: string[] } {
  const timestamp = isRecord(d) && Object.hasOwn(d, 'timestamp') ? d.timestamp : undefined;
  if (timestamp === undefined || timestamp === null) return { occurredAt: receivedAt, notes: [] };
  const parsed = parseOccurredAt(timestamp);
  if (parsed) return { occurredAt: parsed.toISOString(), notes: [] };
  const note = `d.timestamp: cannot read ${preview(timestamp)} as a time, occurred_at is received_at`;
  return { occurredAt: receivedAt, notes: [note] };
}

/** The envelope fields that come from the frame; the rest come from the context. */
type FrameFields = Pick<Envelope, 'id' | 'qq_type' | 'occurred_at' | 'seq' | 'data'>;

function assemble(ctx: NormalizeContext, fields: FrameFields, malformed: readonly string[]): Envelope {
  const qqType = fields.qq_type;
  return {
    id: fields.id,
    type: catalogEntryFor(qqType)?.type ?? UNKNOWN_EVENT_TYPE,
    qq_type: qqType,
    occurred_at: fields.occurred_at,
    received_at: ctx.receivedAt.toISOString(),
    app_id: ctx.appId,
    shard: [ctx.shard[0], ctx.shard[1]],
    seq: fields.seq,
    data: fields.data,
    ...(malformed.length > 0 ? { malformed: [...new Set(malformed)] } : {}),
    v: ENVELOPE_VERSION,
  };
}

function build(input: unknown, ctx: NormalizeContext): NormalizedEvent {
  const { frame, notes: frameNotes } = readFrame(input);
  const { data, notes: dataNotes } = dataOf(catalogEntryFor(frame.t), frame.d);
  const { occurredAt, notes: timeNotes } = occurredAtOf(frame.d, ctx.receivedAt.toISOString());
  const fields = {
    id: eventIdOf(frame),
    qq_type: frame.t,
    occurred_at: occurredAt,
    seq: frame.s ?? null,
    data,
  };
  const envelope = assemble(ctx, fields, [...frameNotes, ...dataNotes, ...timeNotes]);
  return { envelope, dedupeKey: dedupeKeyOf(frame) };
}

/** Reads `frame[key]`, or undefined when even that throws (a getter, a revoked proxy). */
function readSafely(frame: unknown, key: string): unknown {
  try {
    return isRecord(frame) ? frame[key] : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Last resort for a frame no JSON parser produces (a throwing getter, a proxy) or one nested too deep to hash:
 * the event is kept with empty `data`. Its id is QQ's when readable, else a hash that includes the receive time —
 * not stable across replays, but distinct per event type and receive time.
 */
function unreadable(input: unknown, ctx: NormalizeContext, err: unknown): NormalizedEvent {
  const t = readSafely(input, 't');
  const qqType = typeof t === 'string' ? t : '';
  const id = readSafely(input, 'id');
  const receivedAt = ctx.receivedAt.toISOString();
  const eventId =
    typeof id === 'string' && id !== ''
      ? frameEventId(qqType, id)
      : hashedEventId(qqType, `\u0000unreadable\u0000${receivedAt}`);
  let reason = 'unknown error';
  try {
    reason = describeError(err);
  } catch {
    // keep the generic reason
  }
  const fields = {
    id: eventId,
    qq_type: qqType,
    occurred_at: receivedAt,
    seq: seqOf(readSafely(input, 's')),
    data: {},
  };
  const envelope = assemble(ctx, fields, [`frame: could not be read (${reason}), data left empty`]);
  return { envelope, dedupeKey: eventId };
}

/**
 * Turns one dispatch into its envelope and dedupe key. `type` comes from the catalog (`qq.unknown` for any other
 * `t`), `data` from the catalog's mapper, `occurred_at` from `d.timestamp` (else the receive time), `seq` from `s`
 * when it is a safe integer. A `d` that breaks its event's rules is still normalized, with `malformed` listing
 * every problem. Never throws; `ctx` is trusted (a valid `receivedAt`).
 */
export function normalize(frame: DispatchFrame, ctx: NormalizeContext): NormalizedEvent {
  try {
    return build(frame, ctx);
  } catch (err) {
    return unreadable(frame, ctx, err);
  }
}
