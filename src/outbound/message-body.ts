/**
 * The one check of QQ's message body (docs/qq-protocol.md §8.1, §8.2), for send-API requests and for replies in a
 * target's answer alike. The fields the bridge knows must have QQ's types, so a mistake is reported at once with
 * its field instead of failing at QQ later; fields it does not know are passed on unchanged (QQ adds fields over
 * time). Pure.
 */
import type { QqMessageBody } from './message.js';

/** `msg_type` values QQ defines: 0 text, 1 mixed, 2 markdown, 3 ark, 4 embed, 6 input notify, 7 media. */
const MSG_TYPE_MAX = 7;

/** Fields that are objects in QQ's body; each but `message_reference` is also content to send. */
const OBJECT_FIELDS = ['markdown', 'keyboard', 'ark', 'media', 'embed', 'input_notify', 'message_reference'];

/** Fields of which a message needs at least one: something to show. */
const PAYLOAD_FIELDS = ['content', 'markdown', 'keyboard', 'ark', 'media', 'embed', 'input_notify'];

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isIntegerFrom(value: unknown, min: number, max: number): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

/** A value quoted in a message, at most 40 characters of its JSON. */
function shown(value: unknown): string {
  const json = JSON.stringify(value);
  return json.length > 40 ? `${json.slice(0, 40)}…` : json;
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/** What is wrong with a message body: the field (`body` for the whole) and how to fix it. */
export interface MessageBodyProblem {
  readonly field: string;
  readonly message: string;
}

/** The body as QQ's message body, or the first field that is wrong. `parsed` is JSON as received. */
export function checkMessageBody(
  parsed: unknown,
): { readonly ok: true; readonly body: QqMessageBody } | ({ readonly ok: false } & MessageBodyProblem) {
  try {
    return { ok: true, body: checked(parsed) };
  } catch (err) {
    if (err instanceof BodyProblem) return { ok: false, field: err.field, message: err.message };
    throw err;
  }
}

/** Thrown inside the check only, so each rule reads as one early exit. */
class BodyProblem extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

function invalid(field: string, message: string): BodyProblem {
  return new BodyProblem(field, message);
}

function checked(parsed: unknown): QqMessageBody {
  if (!isObject(parsed)) {
    throw invalid('body', `the body must be a JSON object (QQ's message body), not ${kindOf(parsed)}`);
  }
  const body = parsed;
  const content = body['content'];
  if (content !== undefined && typeof content !== 'string') {
    throw invalid('content', `content must be a string, not ${kindOf(content)}`);
  }
  const msgType = body['msg_type'];
  if (msgType !== undefined && !isIntegerFrom(msgType, 0, MSG_TYPE_MAX)) {
    throw invalid(
      'msg_type',
      `msg_type must be an integer from 0 to ${MSG_TYPE_MAX} (0 text, 2 markdown, 3 ark, 4 embed, 7 media), ` +
        `not ${shown(msgType)}`,
    );
  }
  for (const field of OBJECT_FIELDS) {
    const value = body[field];
    if (value !== undefined && !isObject(value)) {
      throw invalid(field, `${field} must be a JSON object, not ${kindOf(value)}`);
    }
  }
  for (const field of ['msg_id', 'event_id']) {
    const value = body[field];
    if (value !== undefined && (typeof value !== 'string' || value === '')) {
      throw invalid(
        field,
        `${field} must be a non-empty string (the id of the inbound ${field === 'msg_id' ? 'message' : 'event'} ` +
          `this answers); leave it out for an active message`,
      );
    }
  }
  const msgSeq = body['msg_seq'];
  if (msgSeq !== undefined && !isIntegerFrom(msgSeq, 1, Number.MAX_SAFE_INTEGER)) {
    throw invalid(
      'msg_seq',
      `msg_seq must be a positive integer, not ${shown(msgSeq)}; leave it out and the bridge numbers ` +
        `the replies to one msg_id 1, 2, 3…`,
    );
  }
  if (!PAYLOAD_FIELDS.some((field) => body[field] !== undefined)) {
    throw invalid(
      'body',
      `the message has nothing to send: give at least one of ${PAYLOAD_FIELDS.join(', ')}`,
    );
  }
  return body;
}
