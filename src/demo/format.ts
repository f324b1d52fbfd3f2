/** What the demo prints for each event its receiver gets and each message QQ gets back: one line a person can scan. */
import type { DeadLetterDetail } from '../queue/dlq.js';
import type { SentMessage } from '../simulator/index.js';

/** `data` fields worth a glance, by label, in print order; dotted paths reach into nested objects. */
const FIELDS: readonly (readonly [label: string, path: string])[] = [
  ['group', 'group_openid'],
  ['operator', 'operator_openid'],
  ['member', 'member_openid'],
  ['member', 'group_member_openid'],
  ['user', 'user_openid'],
  ['author', 'author.member_openid'],
  ['button', 'data.resolved.button_id'],
];

const OPENID = /^[0-9A-F]{16,}$/;
const CONTENT_CHARS = 30;

function at(value: unknown, path: string): unknown {
  let current = value;
  for (const key of path.split('.')) {
    if (typeof current !== 'object' || current === null || !Object.hasOwn(current, key)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/** `C9F778FE…` → `C9F7…`: openids are long and per-bot, so their first characters are enough to tell them apart. */
function short(value: string): string {
  return OPENID.test(value) ? `${value.slice(0, 4)}…` : value;
}

/** `GROUP_ADD_ROBOT:39ab91b8-36ee-…` → `GROUP_ADD_ROBOT:39ab91b8…`. */
export function shortEventId(id: string): string {
  const colon = id.indexOf(':');
  const rest = colon === -1 ? id : id.slice(colon + 1);
  return rest.length <= 8 ? id : `${id.slice(0, colon + 1)}${rest.slice(0, 8)}…`;
}

/**
 * One line per envelope, for example
 * `✓ group.bot.added          GROUP_ADD_ROBOT:39ab91b8…  group=C9F7… operator=E4F4…`.
 */
export function formatEventLine(envelope: Readonly<Record<string, unknown>>): string {
  const type = typeof envelope['type'] === 'string' ? envelope['type'] : '?';
  const id = typeof envelope['id'] === 'string' ? envelope['id'] : '?';
  const data = envelope['data'];
  const parts: string[] = [];
  const seen = new Set<string>();
  for (const [label, path] of FIELDS) {
    const value = at(data, path);
    if (typeof value !== 'string' && typeof value !== 'number') continue;
    const part = `${label}=${short(String(value))}`;
    if (!seen.has(part)) parts.push(part);
    seen.add(part);
  }
  const content = at(data, 'message.content');
  if (typeof content === 'string' && content.trim() !== '') {
    const text = content.trim();
    parts.push(JSON.stringify(text.length > CONTENT_CHARS ? `${text.slice(0, CONTENT_CHARS)}…` : text));
  }
  const attachments = at(data, 'message.attachments');
  if (Array.isArray(attachments) && attachments.length > 0) {
    parts.push(`+${attachments.length} attachment${attachments.length === 1 ? '' : 's'}`);
  }
  if (type === 'qq.unknown' && typeof envelope['qq_type'] === 'string') {
    parts.push(`qq_type=${envelope['qq_type']}`);
  }
  if (Array.isArray(envelope['malformed'])) parts.push(`malformed=${JSON.stringify(envelope['malformed'])}`);
  return `✓ ${type.padEnd(22)} ${shortEventId(id).padEnd(34)} ${parts.join(' ')}`.trimEnd();
}

/**
 * One line for a dead letter as the demo reads it back from the queue, for example
 * `✗ qq.unknown             SUBSCRIBE_MESSAGE_STATUS:c245caec… dead-lettered (HTTP 422 after 1 attempt)`.
 */
export function formatDeadLetterLine(letter: Readonly<DeadLetterDetail>): string {
  const attempts = letter.attempts.length;
  const why = `${letter.failedReason} after ${attempts} attempt${attempts === 1 ? '' : 's'}`;
  return `✗ ${letter.type.padEnd(22)} ${shortEventId(letter.eventId).padEnd(34)} dead-lettered (${why})`;
}

/** `ROBOT1.0_kKRmSBhzt8Ml8ub3…` → `ROBOT1.0_kKRmSBhz…`: enough of QQ's message id to tell two apart. */
function shortMessageId(id: string | null): string {
  if (id === null) return '-';
  return id.length <= 18 ? id : `${id.slice(0, 17)}…`;
}

/**
 * One line per message the bridge sent to QQ (the simulator's message log), for example
 * `↩ reply at QQ            ROBOT1.0_kKRmSBhz…                 group=C9F7… msg_seq=1 "echo: 今天天气怎么样"`;
 * `✗` and why when QQ refused or dropped it.
 */
export function formatQqMessageLine(message: Readonly<SentMessage>): string {
  const body =
    typeof message.body === 'object' && message.body !== null
      ? (message.body as Record<string, unknown>)
      : {};
  const passive = body['msg_id'] !== undefined || body['event_id'] !== undefined;
  const parts = [`${message.scene === 'group' ? 'group' : 'user'}=${short(message.openid)}`];
  if (typeof body['msg_seq'] === 'number') parts.push(`msg_seq=${body['msg_seq']}`);
  if (typeof body['content'] === 'string' && body['content'] !== '') {
    const text = body['content'];
    parts.push(JSON.stringify(text.length > CONTENT_CHARS ? `${text.slice(0, CONTENT_CHARS)}…` : text));
  }
  if (message.outcome === 'rejected') parts.push(`refused: QQ code ${message.code ?? message.status}`);
  if (message.outcome === 'dropped') parts.push('dropped: no gateway session was READY');
  const mark = message.outcome === 'delivered' ? '↩' : '✗';
  const label = `${passive ? 'reply' : 'message'} at QQ`;
  return `${mark} ${label.padEnd(22)} ${shortMessageId(message.id).padEnd(34)} ${parts.join(' ')}`.trimEnd();
}
