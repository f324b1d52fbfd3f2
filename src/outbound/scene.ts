/**
 * Where and how a reply to an inbound event goes (docs/qq-protocol.md §7.2, §8.1, §8.2): the scene and openid,
 * the passive key (`msg_id` for messages, `event_id` for the events QQ lets a bot answer), and the deadline of
 * QQ's reply window. Pure: it reads only the envelope the target was sent.
 */
import type { Envelope } from '../events/envelope.js';
import { REPLY_WINDOW_MS, type Scene } from './message.js';

/** Message events: a reply carries `msg_id` = the message's id (`data.message.id`). */
const MESSAGE_EVENTS: ReadonlySet<string> = new Set([
  'GROUP_AT_MESSAGE_CREATE',
  'GROUP_MESSAGE_CREATE',
  'C2C_MESSAGE_CREATE',
]);

/** Events QQ accepts an `event_id` reply to: the frame id (docs/qq-protocol.md §8.1, §8.2). */
const EVENT_ID_EVENTS: ReadonlySet<string> = new Set([
  'GROUP_ADD_ROBOT',
  'GROUP_MSG_RECEIVE',
  'C2C_MSG_RECEIVE',
  'FRIEND_ADD',
  'INTERACTION_CREATE',
]);

/** How a reply to one event is addressed. */
export interface ReplyAddress {
  readonly scene: Scene;
  readonly openid: string;
  /** `{ msg_id }` or `{ event_id }`, merged into every reply body. */
  readonly passive: { readonly msg_id: string } | { readonly event_id: string };
  /** Unix ms after which QQ accepts no reply. */
  readonly deadline: number;
}

/** Either an address, or why the event cannot be answered. */
export type ReplyScene =
  { readonly ok: true; readonly address: ReplyAddress } | { readonly ok: false; readonly reason: string };

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** When the event happened, in unix ms: its own timestamp, else when the bridge received it. */
function eventTimeMs(envelope: Pick<Envelope, 'occurred_at' | 'received_at'>): number {
  const occurred = Date.parse(envelope.occurred_at);
  return Number.isFinite(occurred) ? occurred : Date.parse(envelope.received_at);
}

/** Where an event's replies would go: its group, else its user; undefined when it names neither. */
export function sceneOf(data: Envelope['data']): { scene: Scene; openid: string } | undefined {
  const group = nonEmpty(data['group_openid']);
  if (group !== undefined) return { scene: 'group', openid: group };
  const user = nonEmpty(data['user_openid']);
  if (user !== undefined) return { scene: 'c2c', openid: user };
  return undefined;
}

/** The passive key of an event, or why it has none. */
function passiveOf(envelope: Envelope): ReplyAddress['passive'] | string {
  const t = envelope.qq_type;
  if (MESSAGE_EVENTS.has(t)) {
    const message = envelope.data['message'];
    const id =
      typeof message === 'object' && message !== null
        ? nonEmpty((message as Record<string, unknown>)['id'])
        : undefined;
    return id === undefined
      ? `${t} without a message id (data.message.id) cannot be replied to`
      : { msg_id: id };
  }
  if (EVENT_ID_EVENTS.has(t)) return { event_id: envelope.id };
  return `QQ does not accept replies to ${t === '' ? 'this event' : t} (only to messages and to ${[...EVENT_ID_EVENTS].join(', ')})`;
}

/**
 * The address of replies to `envelope`, or the reason they are refused: events with a `group_openid` are
 * answered in the group, C2C events to the user; events with neither, and events QQ accepts no reply to, are
 * refused. The deadline is the event's time plus the scene's reply window (group 5 min, C2C 60 min).
 */
export function replySceneOf(envelope: Envelope): ReplyScene {
  if (envelope.type.startsWith('bridge.'))
    return { ok: false, reason: "the bridge's own events cannot be replied to" };
  const passive = passiveOf(envelope);
  if (typeof passive === 'string') return { ok: false, reason: passive };
  const where = sceneOf(envelope.data);
  if (!where) {
    return { ok: false, reason: `${envelope.qq_type} has neither group_openid nor user_openid to reply to` };
  }
  const deadline = eventTimeMs(envelope) + REPLY_WINDOW_MS[where.scene];
  return { ok: true, address: { ...where, passive, deadline } };
}
