import { isRecord } from './json.js';

/** Where a message goes: a group or one user (`/v2/groups/…` or `/v2/users/…`). */
export type SendScene = 'group' | 'c2c';

/** One emitted event a send may name, as the send routes need it. */
export interface InboundEvent {
  /** the event type `t` */
  t: string;
  /** when it was emitted, ms since epoch on the simulator's clock: where the reply window starts */
  at: number;
  /** the scene the event belongs to, when its `d` says (a group id, or a user's openid) */
  scene?: SendScene;
  /** its `group_openid` or the user's openid, when its `d` has one */
  openid?: string;
}

/**
 * The message events whose `d.id` a reply names as `msg_id`, and their scene (docs/qq-protocol.md §5.1–§5.3). The
 * simulator keeps its own list instead of importing the bridge's: it is the test oracle for that code.
 */
const MESSAGE_EVENT_SCENES: Readonly<Record<string, SendScene>> = {
  GROUP_AT_MESSAGE_CREATE: 'group',
  GROUP_MESSAGE_CREATE: 'group',
  C2C_MESSAGE_CREATE: 'c2c',
};

/** The events whose frame id a send may name as `event_id`, per scene (docs/qq-protocol.md §8.1, §8.2). */
const REPLIABLE_EVENTS: Readonly<Record<SendScene, ReadonlySet<string>>> = {
  group: new Set(['INTERACTION_CREATE', 'GROUP_ADD_ROBOT', 'GROUP_MSG_RECEIVE']),
  c2c: new Set(['INTERACTION_CREATE', 'C2C_MSG_RECEIVE', 'FRIEND_ADD']),
};

/** Whether QQ accepts an `event_id` reply in `scene` to an event of type `t`. */
export function acceptsEventIdReply(scene: SendScene, t: string): boolean {
  return REPLIABLE_EVENTS[scene].has(t);
}

/**
 * Every event the simulator emitted, indexed the three ways a send names one: by message id (`d.id` of a message
 * event, a reply's `msg_id`), by frame id (a reply's `event_id`) and by interaction id (`d.id` of
 * INTERACTION_CREATE, for `PUT /interactions/{id}`). An id emitted twice keeps its first emit time, as QQ's
 * message time does not change when it pushes a message again.
 */
export class InboundRegistry {
  readonly #byMessageId = new Map<string, InboundEvent>();
  readonly #byFrameId = new Map<string, InboundEvent>();
  readonly #byInteractionId = new Map<string, InboundEvent>();

  /** Records an emitted event: its type, frame id and data, at `at` (ms since epoch). */
  noteEmitted(t: string, frameId: string, d: unknown, at: number): void {
    const data = isRecord(d) ? d : {};
    const messageScene = MESSAGE_EVENT_SCENES[t];
    const event = describe(t, data, at, messageScene);
    setOnce(this.#byFrameId, frameId, event);
    const dataId = nonEmptyString(data.id);
    if (dataId === undefined) return;
    if (messageScene !== undefined) setOnce(this.#byMessageId, dataId, event);
    if (t === 'INTERACTION_CREATE') setOnce(this.#byInteractionId, dataId, event);
  }

  /** The message event whose `d.id` is `msgId`. */
  message(msgId: string): InboundEvent | undefined {
    return this.#byMessageId.get(msgId);
  }

  /** The event whose frame id is `eventId`. */
  event(eventId: string): InboundEvent | undefined {
    return this.#byFrameId.get(eventId);
  }

  /** The INTERACTION_CREATE whose `d.id` is `interactionId`. */
  interaction(interactionId: string): InboundEvent | undefined {
    return this.#byInteractionId.get(interactionId);
  }
}

/** Scene and openid of an event from its `d`: a group id wins, then the user's openid under its three names. */
function describe(
  t: string,
  data: Record<string, unknown>,
  at: number,
  messageScene: SendScene | undefined,
): InboundEvent {
  const group = nonEmptyString(data.group_openid);
  const author = isRecord(data.author) ? data.author : {};
  const user =
    nonEmptyString(data.user_openid) ?? nonEmptyString(data.openid) ?? nonEmptyString(author.user_openid);
  const event: InboundEvent = { t, at };
  const scene = messageScene ?? (group !== undefined ? 'group' : user !== undefined ? 'c2c' : undefined);
  if (scene !== undefined) event.scene = scene;
  const openid = scene === 'group' ? group : scene === 'c2c' ? user : undefined;
  if (openid !== undefined) event.openid = openid;
  return event;
}

function setOnce(map: Map<string, InboundEvent>, key: string, event: InboundEvent): void {
  if (!map.has(key)) map.set(key, event);
}

function nonEmptyString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
