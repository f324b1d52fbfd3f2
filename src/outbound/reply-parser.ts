/**
 * Reads a target's 2xx answer to a delivery as replies (docs/design.md §4): `{"replies": [<message>, …]}`,
 * `{"reply": <message>}`, and for button clicks `{"interaction": {"code": 0}}`. Pure. An answer that is empty,
 * not JSON, or JSON without those keys is a plain acknowledgement, as every answer was before replies existed;
 * what is malformed is described in `problems` and never fails the delivery (the event was received).
 */
import type { QqMessageBody } from './message.js';
import { checkMessageBody } from './message-body.js';

/** The fields the bridge sets on every reply itself; a value the answer gives for them is replaced. */
const BRIDGE_FIELDS = ['msg_id', 'event_id', 'msg_seq'] as const;

/** QQ's interaction acknowledgement codes (docs/qq-protocol.md §5.7). */
const INTERACTION_CODES = new Set([0, 1, 2, 3, 4, 5]);

/** What a target's answer asks the bridge to send. */
export interface ParsedAnswer {
  /** Messages to send, in order, without the bridge's fields (`msg_id`, `event_id`, `msg_seq`). */
  readonly messages: readonly QqMessageBody[];
  /** The acknowledgement code of a button click, when the answer has a valid `interaction`. */
  readonly interactionCode?: number;
  /** Each malformed part of the answer, in words a backend developer can act on. */
  readonly problems: readonly string[];
}

/** A response body as the deliverer read it. */
export interface AnswerText {
  readonly text: string;
  /** True when the body was longer than the deliverer reads, so `text` is cut short. */
  readonly truncated: boolean;
}

const ACK: ParsedAnswer = { messages: [], problems: [] };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks one message with the send API's rules ({@link checkMessageBody}); returns it without the bridge's fields
 * (which the bridge sets itself, so a value the answer gives for them is neither checked nor used), or what is
 * wrong with it.
 */
function readMessage(value: unknown, where: string): QqMessageBody | string {
  if (!isObject(value)) return `${where} is not a JSON object (a QQ message body like {"content": "hi"})`;
  const own = Object.fromEntries(
    Object.entries(value).filter(([key]) => !(BRIDGE_FIELDS as readonly string[]).includes(key)),
  );
  const checked = checkMessageBody(own);
  // The check's message names the field itself.
  if (!checked.ok) return `${where}: ${checked.message}`;
  const message: QqMessageBody = { ...checked.body };
  message['msg_type'] ??= 0;
  return message;
}

function readMessages(answer: Record<string, unknown>, problems: string[]): QqMessageBody[] {
  const candidates: [unknown, string][] = [];
  if (answer['replies'] !== undefined) {
    if (!Array.isArray(answer['replies'])) {
      problems.push('"replies" must be a list of QQ message bodies');
    } else {
      answer['replies'].forEach((entry: unknown, index) => candidates.push([entry, `replies[${index}]`]));
    }
    if (answer['reply'] !== undefined)
      problems.push('the answer has both "reply" and "replies"; "reply" was ignored');
  } else if (answer['reply'] !== undefined) {
    candidates.push([answer['reply'], 'reply']);
  }
  const messages: QqMessageBody[] = [];
  for (const [entry, where] of candidates) {
    const message = readMessage(entry, where);
    if (typeof message === 'string') problems.push(message);
    else messages.push(message);
  }
  return messages;
}

function readInteraction(value: unknown, problems: string[]): number | undefined {
  if (value === undefined) return undefined;
  const code = isObject(value) ? value['code'] : undefined;
  if (typeof code === 'number' && INTERACTION_CODES.has(code)) return code;
  problems.push('"interaction" must be {"code": n} with n one of 0 (success), 1, 2, 3, 4, 5');
  return undefined;
}

/** Parses a target's 2xx answer. Never throws. */
export function parseAnswer(answer: AnswerText): ParsedAnswer {
  const text = answer.text.trim();
  if (text === '') return ACK;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    if (answer.truncated && /"(replies|reply|interaction)"\s*:/.test(text)) {
      return { messages: [], problems: ['the answer is too long to read, so its replies were not sent'] };
    }
    return ACK; // a plain acknowledgement such as "ok"
  }
  if (!isObject(json)) return ACK;
  const problems: string[] = [];
  const messages = readMessages(json, problems);
  const interactionCode = readInteraction(json['interaction'], problems);
  return { messages, problems, ...(interactionCode === undefined ? {} : { interactionCode }) };
}
