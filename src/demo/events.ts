/**
 * What `demo` makes the simulator push: the seed's four group events with docs/qq-protocol.md §5.4's exact `d`, then one
 * of every other event in the catalog with a `d` shaped like the real captures in docs/qq-protocol.md §5, then one event
 * the catalog does not know (delivered as `qq.unknown`). The sample receiver answers the @-message with a reply,
 * which the bridge sends back to the simulator.
 */

/** One dispatch to emit: QQ's event name and its `d`. */
export interface DemoEvent {
  readonly t: string;
  readonly d: Readonly<Record<string, unknown>>;
}

const GROUP = 'C9F778FE6ADF9D1D1DBE395BF744A33A';
const OPERATOR = 'E4F4AEA33253A2797FB897C50B81D7ED';
const USER = '7D296480D464EC5C16714E74A43E5BC7';
const MEMBER = '1973D8F78F51DE1E4C8ED4E54E1FB2F8';

function operatorEvent(t: string, timestamp: number): DemoEvent {
  return { t, d: { group_openid: GROUP, op_member_openid: OPERATOR, timestamp } };
}

/** The seed (docs/qq-protocol.md §5.4, the official examples, value for value). */
export const SEED_EVENTS: readonly DemoEvent[] = [
  operatorEvent('GROUP_ADD_ROBOT', 1699240248),
  operatorEvent('GROUP_DEL_ROBOT', 1699240426),
  operatorEvent('GROUP_MSG_REJECT', 1699240458),
  operatorEvent('GROUP_MSG_RECEIVE', 1699240477),
];

const groupAuthor = { id: USER, member_openid: USER, union_openid: USER };

/** One realistic `d` for every catalog event that is not in the seed, keyed by `t`. */
export const SAMPLE_DATA: Readonly<Record<string, Readonly<Record<string, unknown>>>> = {
  GROUP_AT_MESSAGE_CREATE: {
    id: 'ROBOT1.0_DPLMsS1ni5JdXvHqMSAbLhCWDXkR.ypJfF8MMAvV1o.nJ6EAnAE5kMg2FFFnMSNfcCPxLSoIMEzLwfEp0kRuhQ!',
    content: ' 今天天气怎么样',
    timestamp: '2025-02-15T16:35:23+08:00',
    author: groupAuthor,
    group_id: GROUP,
    group_openid: GROUP,
    message_scene: { source: 'default', callback_data: '' },
    message_type: 0,
  },
  GROUP_MESSAGE_CREATE: {
    id: 'ROBOT1.0_kx9Dq0b3.Vt7LYxXwQm2cJ5ZsEo8nRpWvHfUa1TgBiK6lMyNdA4jCe3hSrPuGzO-0sF7IwQ2xYbV!',
    content: '<@9FC25631D3A2B7E8> 日报',
    timestamp: '2025-02-15T16:36:02+08:00',
    author: { ...groupAuthor, member_role: 'admin', bot: false, username: '小明' },
    group_id: GROUP,
    group_openid: GROUP,
    mentions: [{ scope: 'single', bot: true, id: '9FC25631D3A2B7E8', is_you: true, username: 'bot' }],
    message_scene: { source: 'default' },
    message_type: 0,
  },
  C2C_MESSAGE_CREATE: {
    id: 'ROBOT1.0_YVzTU7YSOT5lDwl..a9qHIE9dmbeOnIa8htmw65.plUjarnep2VtBmgwh4JWmBlBWJVB8Ei-356O9DOFQyISCg!!',
    content: '',
    timestamp: '2025-02-15T16:32:42+08:00',
    author: { id: USER, user_openid: USER, union_openid: USER },
    attachments: [
      {
        url: 'https://multimedia.nt.qq.com.cn/download?appid=1406&fileid=demo&spec=0',
        filename: 'B43A0CF83A2D80BBEFBB9C566FEE436F.jpg',
        width: 520,
        height: 524,
        size: 53851,
        content_type: 'image/jpeg',
        content: '',
      },
    ],
    message_scene: { source: 'default', callback_data: '' },
  },
  GROUP_MEMBER_ADD: { group_openid: GROUP, member_openid: MEMBER, timestamp: 1741880700 },
  GROUP_MEMBER_REMOVE: { group_openid: GROUP, member_openid: MEMBER, timestamp: 1741880760 },
  FRIEND_ADD: { timestamp: 1741879599, openid: USER, author: { union_openid: USER } },
  FRIEND_DEL: { timestamp: 1741879562, openid: USER, author: { union_openid: USER } },
  C2C_MSG_REJECT: { timestamp: 1741878278, openid: USER },
  C2C_MSG_RECEIVE: { timestamp: 1741878735, openid: USER },
  INTERACTION_CREATE: {
    application_id: '102000000',
    chat_type: 1,
    data: { resolved: { button_id: 'like', button_data: 'like' }, type: 11 },
    group_member_openid: MEMBER,
    group_openid: GROUP,
    id: 'c899f03f-7cae-431b-9982-c4fc8b28de21',
    scene: 'group',
    timestamp: '2024-08-11T14:02:51+08:00',
    type: 11,
    version: 1,
  },
};

/** An event the catalog does not know (docs/qq-protocol.md §5.8); the bridge forwards its `d` untouched. */
export const UNKNOWN_EVENT: DemoEvent = {
  t: 'SUBSCRIBE_MESSAGE_STATUS',
  d: {
    group_openid: GROUP,
    result: [
      { template_id: 'demo-template', op: 1, subscribe_id: 'demo-subscription', update_ts: 1741880900 },
    ],
  },
};

/** The event the sample receiver answers with a reply: the @-message, whose `d.id` the reply names as `msg_id`. */
export const ANSWERED_EVENT = 'GROUP_AT_MESSAGE_CREATE';

/**
 * Every event the demo emits, in order: the seed, then the rest of `catalogOrder` (the catalog's `t` values) that
 * have sample data, then {@link UNKNOWN_EVENT}. The demo's test checks that no catalog event lacks sample data.
 * The {@link ANSWERED_EVENT} is stamped `now`: QQ's reply window (5 minutes in a group) runs from the message's
 * time, and a reply to the capture's 2025 timestamp would be refused as expired.
 */
export function demoEvents(catalogOrder: readonly string[], now: Date = new Date()): DemoEvent[] {
  const seed = new Set(SEED_EVENTS.map((event) => event.t));
  const rest: DemoEvent[] = [];
  for (const t of catalogOrder) {
    const d = SAMPLE_DATA[t];
    if (seed.has(t) || d === undefined) continue;
    rest.push({ t, d: t === ANSWERED_EVENT ? { ...d, timestamp: now.toISOString() } : d });
  }
  return [...SEED_EVENTS, ...rest, UNKNOWN_EVENT];
}
