import { isNonNegativeInteger, isRecord } from './json.js';

/** What a message body names as the thing it answers: an inbound message, an event, or nothing (active). */
export type PassiveKey = { kind: 'msg_id'; id: string } | { kind: 'event_id'; id: string } | undefined;

/** A message body that passed the checks, with what the send rules read from it. */
export interface CheckedMessageBody {
  body: Record<string, unknown>;
  passive: PassiveKey;
  /** `msg_seq`, 1 when absent (docs/qq-protocol.md §7.2) */
  msgSeq: number;
}

export type BodyCheck = { ok: true; value: CheckedMessageBody } | { ok: false; error: string };

/** The payload fields of which a message needs at least one (docs/qq-protocol.md §8.1). */
const PAYLOAD_FIELDS = ['content', 'markdown', 'keyboard', 'ark', 'media', 'embed'] as const;
const OBJECT_FIELDS = ['markdown', 'keyboard', 'ark', 'media', 'embed', 'message_reference'] as const;

/**
 * Checks a send body against docs/qq-protocol.md §8.1: a JSON object with at least one payload field, an integer
 * `msg_type`, a string `content`, objects for the structured fields, non-empty string ids and an integer
 * `msg_seq` ≥ 1. `msg_id` and `event_id` together are refused: a reply answers one thing. The error says which
 * field is wrong and what it must be.
 */
export function checkMessageBody(input: unknown): BodyCheck {
  if (!isRecord(input)) return fail('the body must be a JSON object (a QQ message)');
  if (!PAYLOAD_FIELDS.some((field) => input[field] !== undefined)) {
    return fail(`the body needs one of ${PAYLOAD_FIELDS.join(', ')}`);
  }
  if (!isNonNegativeInteger(input.msg_type)) {
    return fail('"msg_type" is required: an integer (0 text, 2 markdown, 3 ark, 4 embed, 7 media)');
  }
  if (input.content !== undefined && typeof input.content !== 'string') {
    return fail('"content" must be a string');
  }
  for (const field of OBJECT_FIELDS) {
    if (input[field] !== undefined && !isRecord(input[field])) return fail(`"${field}" must be an object`);
  }
  const { msg_id: msgId, event_id: eventId, msg_seq: msgSeq } = input;
  for (const [name, value] of [
    ['msg_id', msgId],
    ['event_id', eventId],
  ] as const) {
    if (value !== undefined && (typeof value !== 'string' || value === '')) {
      return fail(`"${name}" must be a non-empty string`);
    }
  }
  if (msgId !== undefined && eventId !== undefined) {
    return fail('"msg_id" and "event_id" exclude each other: a passive message answers one message or event');
  }
  if (msgSeq !== undefined && !(isNonNegativeInteger(msgSeq) && msgSeq >= 1)) {
    return fail('"msg_seq" must be an integer ≥ 1');
  }
  const passive: PassiveKey =
    typeof msgId === 'string'
      ? { kind: 'msg_id', id: msgId }
      : typeof eventId === 'string'
        ? { kind: 'event_id', id: eventId }
        : undefined;
  return { ok: true, value: { body: input, passive, msgSeq: typeof msgSeq === 'number' ? msgSeq : 1 } };
}

function fail(error: string): { ok: false; error: string } {
  return { ok: false, error };
}
