/**
 * The event catalog: for each QQ dispatch name (`t`) the envelope `type`, the intent that subscribes to it, the
 * rules its `d` must satisfy and the mapper that builds `data` (docs/design.md §3, docs/qq-protocol.md §5). Anything not listed
 * here is delivered as `qq.unknown` with `d` untouched.
 */
import type { IntentName } from '../qq/intents.js';
import type { FieldRule } from './check.js';
import { c2cMessageData, groupMessageData, keepAsIs, renameKey, type DataMapper } from './map-data.js';

/** The `type` of an envelope whose `t` the catalog does not know. */
export const UNKNOWN_EVENT_TYPE = 'qq.unknown';

export interface CatalogEntry {
  /** QQ's dispatch name (`t`). */
  readonly qqType: string;
  /** The normalized envelope `type`. */
  readonly type: string;
  /** The gateway intent that delivers the event (docs/qq-protocol.md §4). */
  readonly intent: IntentName;
  /** One line for docs: when QQ sends it. */
  readonly summary: string;
  /** What a well-formed `d` looks like; each broken rule is one `malformed` entry. */
  readonly rules: readonly FieldRule[];
  /** Builds `data` from `d` (an object, well-formed or not). */
  readonly toData: DataMapper;
}

const OPERATOR_RULES: readonly FieldRule[] = [
  { path: 'group_openid', kind: 'string' },
  { path: 'op_member_openid', kind: 'string' },
  { path: 'timestamp', kind: 'integer' },
  {
    path: 'operator_openid',
    kind: 'absent',
    reason: 'it collides with op_member_openid renamed to operator_openid',
  },
];

const USER_RULES: readonly FieldRule[] = [
  { path: 'openid', kind: 'string' },
  { path: 'timestamp', kind: 'integer' },
  { path: 'author', kind: 'object', optional: true },
  { path: 'user_openid', kind: 'absent', reason: 'it collides with openid renamed to user_openid' },
];

const MEMBER_RULES: readonly FieldRule[] = [
  { path: 'group_openid', kind: 'string' },
  { path: 'member_openid', kind: 'string' },
  { path: 'timestamp', kind: 'integer' },
];

/** Fields every group or C2C message has (docs/qq-protocol.md §5.1, §5.3). */
const MESSAGE_RULES: readonly FieldRule[] = [
  { path: 'id', kind: 'string' },
  { path: 'content', kind: 'string' },
  { path: 'timestamp', kind: 'string' },
  { path: 'author', kind: 'object' },
  { path: 'author.id', kind: 'string', optional: true },
  { path: 'author.union_openid', kind: 'string', optional: true },
  { path: 'author.username', kind: 'string', optional: true },
  { path: 'author.bot', kind: 'boolean', optional: true },
  { path: 'attachments', kind: 'object[]', optional: true },
  { path: 'mentions', kind: 'object[]', optional: true },
  { path: 'message_scene', kind: 'object', optional: true },
  { path: 'message_type', kind: 'integer', optional: true },
  { path: 'msg_idx', kind: 'string', optional: true },
  { path: 'msg_elements', kind: 'object[]', optional: true },
];

const GROUP_MESSAGE_RULES: readonly FieldRule[] = [
  { path: 'group_openid', kind: 'string' },
  { path: 'group_id', kind: 'string', optional: true },
  ...MESSAGE_RULES,
  { path: 'author.member_openid', kind: 'string' },
  { path: 'author.member_role', kind: 'string', optional: true },
];

const C2C_MESSAGE_RULES: readonly FieldRule[] = [
  ...MESSAGE_RULES,
  { path: 'author.user_openid', kind: 'string' },
];

/** docs/qq-protocol.md §5.7; the scene-specific ids are optional because each scene carries only its own. */
const INTERACTION_RULES: readonly FieldRule[] = [
  { path: 'id', kind: 'string' },
  { path: 'type', kind: 'integer' },
  { path: 'chat_type', kind: 'integer' },
  { path: 'timestamp', kind: 'string' },
  { path: 'data', kind: 'object' },
  { path: 'data.type', kind: 'integer', optional: true },
  { path: 'data.resolved', kind: 'object', optional: true },
  { path: 'application_id', kind: 'string|integer', optional: true },
  { path: 'scene', kind: 'string', optional: true },
  { path: 'version', kind: 'integer', optional: true },
  { path: 'group_openid', kind: 'string', optional: true },
  { path: 'group_member_openid', kind: 'string', optional: true },
  { path: 'user_openid', kind: 'string', optional: true },
  { path: 'guild_id', kind: 'string', optional: true },
  { path: 'channel_id', kind: 'string', optional: true },
];

/** What the events of one family share: their intent, their rules and their mapper. */
interface Family {
  readonly intent: IntentName;
  readonly rules: readonly FieldRule[];
  readonly toData: DataMapper;
}

const OPERATOR: Family = {
  intent: 'GROUP_AND_C2C_EVENT',
  rules: OPERATOR_RULES,
  toData: renameKey('op_member_openid', 'operator_openid'),
};
const USER: Family = {
  intent: 'GROUP_AND_C2C_EVENT',
  rules: USER_RULES,
  toData: renameKey('openid', 'user_openid'),
};
const GROUP_MESSAGE: Family = {
  intent: 'GROUP_AND_C2C_EVENT',
  rules: GROUP_MESSAGE_RULES,
  toData: groupMessageData,
};
const C2C_MESSAGE: Family = {
  intent: 'GROUP_AND_C2C_EVENT',
  rules: C2C_MESSAGE_RULES,
  toData: c2cMessageData,
};
const MEMBER: Family = { intent: 'GROUP_MEMBERS', rules: MEMBER_RULES, toData: keepAsIs };
const INTERACTION: Family = { intent: 'INTERACTION', rules: INTERACTION_RULES, toData: keepAsIs };

function entry(family: Family, qqType: string, type: string, summary: string): CatalogEntry {
  return Object.freeze({ qqType, type, summary, ...family });
}

const ENTRIES: readonly CatalogEntry[] = [
  entry(OPERATOR, 'GROUP_ADD_ROBOT', 'group.bot.added', 'The bot was added to a group.'),
  entry(OPERATOR, 'GROUP_DEL_ROBOT', 'group.bot.removed', 'The bot was removed from a group.'),
  entry(OPERATOR, 'GROUP_MSG_REJECT', 'group.push.rejected', 'A group admin turned proactive messages off.'),
  entry(OPERATOR, 'GROUP_MSG_RECEIVE', 'group.push.accepted', 'A group admin turned proactive messages on.'),
  entry(GROUP_MESSAGE, 'GROUP_AT_MESSAGE_CREATE', 'group.message.at', 'A member @-mentioned the bot.'),
  entry(GROUP_MESSAGE, 'GROUP_MESSAGE_CREATE', 'group.message.created', 'Any group message (full mode).'),
  entry(C2C_MESSAGE, 'C2C_MESSAGE_CREATE', 'c2c.message.created', 'A user sent the bot a private message.'),
  entry(MEMBER, 'GROUP_MEMBER_ADD', 'group.member.added', 'A member joined a group the bot is in.'),
  entry(MEMBER, 'GROUP_MEMBER_REMOVE', 'group.member.removed', 'A member left a group the bot is in.'),
  entry(USER, 'FRIEND_ADD', 'c2c.friend.added', 'A user added the bot.'),
  entry(USER, 'FRIEND_DEL', 'c2c.friend.removed', 'A user deleted the bot.'),
  entry(USER, 'C2C_MSG_REJECT', 'c2c.push.rejected', 'A user turned proactive messages off.'),
  entry(USER, 'C2C_MSG_RECEIVE', 'c2c.push.accepted', 'A user turned proactive messages on.'),
  entry(INTERACTION, 'INTERACTION_CREATE', 'interaction.created', 'A user clicked a button or a C2C menu.'),
];

/** Every known QQ event, keyed by `t`. Iterate it for docs and tests; look events up with {@link catalogEntryFor}. */
export const EVENT_CATALOG: Readonly<Record<string, CatalogEntry>> = Object.freeze(
  Object.fromEntries(ENTRIES.map((e) => [e.qqType, e])),
);

/** Every envelope `type` the bridge produces, `qq.unknown` last. */
export const EVENT_TYPES: readonly string[] = Object.freeze([
  ...ENTRIES.map((e) => e.type),
  UNKNOWN_EVENT_TYPE,
]);

/** The catalog entry for QQ's `t`, or undefined (also for inherited names such as `constructor`). */
export function catalogEntryFor(qqType: string): CatalogEntry | undefined {
  return Object.hasOwn(EVENT_CATALOG, qqType) ? EVENT_CATALOG[qqType] : undefined;
}
