/**
 * Dispatch frames from docs/qq-protocol.md §3 and §5: the official examples and real captures where the document has
 * them (ids as captured, `s` illustrative), frames built from the documented field lists where it has none.
 */
import type { DispatchFrame } from '../../src/events/envelope.js';
import type { NormalizeContext } from '../../src/events/normalize.js';

/** The context every table uses: a fixed receive time, so envelopes can be compared exactly. */
export const CTX: NormalizeContext = {
  appId: '102000000',
  shard: [0, 1],
  receivedAt: new Date('2026-11-25T12:00:00.123Z'),
};

export const RECEIVED_AT = '2026-11-25T12:00:00.123Z';

const SEED_GROUP = 'C9F778FE6ADF9D1D1DBE395BF744A33A';
const SEED_OPERATOR = 'E4F4AEA33253A2797FB897C50B81D7ED';

/** A seed frame, typed precisely so tests can build the expected envelope from it. */
export interface SeedFrame extends DispatchFrame {
  s: number;
  id: string;
  d: { group_openid: string; op_member_openid: string; timestamp: number };
}

function seedFrame(t: string, s: number, uuid: string, timestamp: number): SeedFrame {
  return {
    op: 0,
    s,
    t,
    id: `${t}:${uuid}`,
    d: { group_openid: SEED_GROUP, op_member_openid: SEED_OPERATOR, timestamp },
  };
}

/** docs/qq-protocol.md §5.4: the official `d` of the four seed events (the ADD frame's id as in the doc, others alike). */
export const SEED_FRAMES = {
  GROUP_ADD_ROBOT: seedFrame('GROUP_ADD_ROBOT', 2, '39ab91b8-36ee-44d6-80e9-4447a2f2c571', 1699240248),
  GROUP_DEL_ROBOT: seedFrame('GROUP_DEL_ROBOT', 3, '5b0f1c9e-2d43-4c1b-9e7a-0c1f7e0a9d11', 1699240426),
  GROUP_MSG_REJECT: seedFrame('GROUP_MSG_REJECT', 4, '7c2e4a10-5f6b-4e8d-a1b2-3c4d5e6f7a8b', 1699240458),
  GROUP_MSG_RECEIVE: seedFrame('GROUP_MSG_RECEIVE', 5, '9d3f5b21-6a7c-4f9e-b2c3-4d5e6f7a8b9c', 1699240477),
} as const;

/** docs/qq-protocol.md §5.1: real webhook capture (2025-02), with `s` added. */
export const GROUP_AT_MESSAGE: DispatchFrame = {
  op: 0,
  s: 3,
  t: 'GROUP_AT_MESSAGE_CREATE',
  id: 'GROUP_AT_MESSAGE_CREATE:dplmss1ni5jdxvhqmsablrwi16gnqpxgg9ecoamsg9xqkgxwpynhysl6q6ws849',
  d: {
    id: 'ROBOT1.0_DPLMsS1ni5JdXvHqMSAbLhCWDXkR.ypJfF8MMAvV1o.nJ6EAnAE5kMg2FFFnMSNfcCPxLSoIMEzLwfEp0kRuhQjlj6H3wBCAbx3PilKrAso!',
    content: ' 123',
    timestamp: '2025-02-15T16:35:23+08:00',
    author: {
      id: '7D296480D464EC5C16714E74A43E5BC7',
      member_openid: '7D296480D464EC5C16714E74A43E5BC7',
      union_openid: '7D296480D464EC5C16714E74A43E5BC7',
    },
    group_id: 'D4DE5F2EF86365A1FBEAA8C7C3C12B91',
    group_openid: 'D4DE5F2EF86365A1FBEAA8C7C3C12B91',
    message_scene: { source: 'default', callback_data: '' },
  },
};

/**
 * docs/qq-protocol.md §5.2: the full-mode copy of the message above (same `d.id`, another frame id), with the 2026 fields
 * the section lists: the @bot not stripped, `mentions`, `message_type`, author role.
 */
export const GROUP_MESSAGE: DispatchFrame = {
  op: 0,
  s: 4,
  t: 'GROUP_MESSAGE_CREATE',
  id: 'GROUP_MESSAGE_CREATE:k2d9s8f7g6h5j4k3l2z1x0c9v8b7n6m5q4w3e2r1t0y9u8i7o6p5a4s3d2f1g0',
  d: {
    id: 'ROBOT1.0_DPLMsS1ni5JdXvHqMSAbLhCWDXkR.ypJfF8MMAvV1o.nJ6EAnAE5kMg2FFFnMSNfcCPxLSoIMEzLwfEp0kRuhQjlj6H3wBCAbx3PilKrAso!',
    content: '<@9FC25631A2B64C6E8E0D8D1F5B9A7C33> 123',
    timestamp: '2025-02-15T16:35:23+08:00',
    author: {
      id: '7D296480D464EC5C16714E74A43E5BC7',
      member_openid: '7D296480D464EC5C16714E74A43E5BC7',
      union_openid: '7D296480D464EC5C16714E74A43E5BC7',
      username: 'Alice',
      member_role: 'member',
      bot: false,
    },
    group_id: 'D4DE5F2EF86365A1FBEAA8C7C3C12B91',
    group_openid: 'D4DE5F2EF86365A1FBEAA8C7C3C12B91',
    attachments: [],
    mentions: [
      {
        scope: 'single',
        bot: true,
        id: '9FC25631A2B64C6E8E0D8D1F5B9A7C33',
        is_you: true,
        member_openid: '9FC25631A2B64C6E8E0D8D1F5B9A7C33',
        username: 'bridge-bot',
      },
    ],
    message_scene: { source: 'default' },
    message_type: 0,
  },
};

/** docs/qq-protocol.md §5.3: real webhook capture (2025-02), with `s` added. */
export const C2C_MESSAGE: DispatchFrame = {
  op: 0,
  s: 2,
  t: 'C2C_MESSAGE_CREATE',
  id: 'C2C_MESSAGE_CREATE:o87gxm4ehyludnpeniqsbxuqtddoh9dixtehialxfuohchhcigml0xmisoz2',
  d: {
    id: 'ROBOT1.0_YVzTU7YSOT5lDwl..a9qHIE9dmbeOnIa8htmw65.plUjarnep2VtBmgwh4JWmBlBWJVB8Ei-356O9DOFQyISCg!!',
    content: '',
    timestamp: '2025-02-15T16:32:42+08:00',
    author: {
      id: '7D296480D464EC5C16714E74A43E5BC7',
      user_openid: '7D296480D464EC5C16714E74A43E5BC7',
      union_openid: '7D296480D464EC5C16714E74A43E5BC7',
    },
    attachments: [
      {
        url: 'https://multimedia.nt.qq.com.cn/download?appid=1406&fileid=…&rkey=…&spec=0',
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
};

/** docs/qq-protocol.md §5.4: real captures (webhook, 2025-03; `s` illustrative). */
export const GROUP_NOTICE_CAPTURES: readonly DispatchFrame[] = [
  {
    op: 0,
    s: 5,
    t: 'GROUP_ADD_ROBOT',
    id: 'GROUP_ADD_ROBOT:56d7a1f4-a7f7-4e96-9ca4-fa5ba6697ddf',
    d: {
      timestamp: 1741880682,
      group_openid: '492C3C6EC6630BD6DD71A32074BDB2F9',
      op_member_openid: '7D296480D464EC5C16714E74A43E5BC7',
    },
  },
  {
    op: 0,
    s: 6,
    t: 'GROUP_DEL_ROBOT',
    id: 'GROUP_DEL_ROBOT:bcffb8e4-693c-4e81-bf34-d5653f3dd781',
    d: {
      timestamp: 1741880615,
      group_openid: '492C3C6EC6630BD6DD71A32074BDB2F9',
      op_member_openid: '7D296480D464EC5C16714E74A43E5BC7',
    },
  },
  {
    op: 0,
    s: 7,
    t: 'GROUP_MSG_REJECT',
    id: 'GROUP_MSG_REJECT:92a270a2-91ba-4807-a6aa-dabd47eefeca',
    d: {
      timestamp: 1741880868,
      group_openid: '492C3C6EC6630BD6DD71A32074BDB2F9',
      op_member_openid: '7D296480D464EC5C16714E74A43E5BC7',
    },
  },
  {
    op: 0,
    s: 8,
    t: 'GROUP_MSG_RECEIVE',
    id: 'GROUP_MSG_RECEIVE:86adfa8d-59b1-4454-ac5c-c9bcac78184d',
    d: {
      timestamp: 1741880888,
      group_openid: '492C3C6EC6630BD6DD71A32074BDB2F9',
      op_member_openid: '7D296480D464EC5C16714E74A43E5BC7',
    },
  },
];

/** docs/qq-protocol.md §5.5: real captures (2025-03; `s` illustrative). */
export const USER_NOTICE_CAPTURES: readonly DispatchFrame[] = [
  {
    op: 0,
    s: 9,
    t: 'FRIEND_ADD',
    id: 'FRIEND_ADD:ec2769d0-f3d5-4315-a000-3d8e6fa4a0d4',
    d: {
      timestamp: 1741879599,
      openid: '7D296480D464EC5C16714E74A43E5BC7',
      author: { union_openid: '7D296480D464EC5C16714E74A43E5BC7' },
    },
  },
  {
    op: 0,
    s: 10,
    t: 'FRIEND_DEL',
    id: 'FRIEND_DEL:e1f1f790-43ce-4249-8e81-f7df496deff1',
    d: {
      timestamp: 1741879562,
      openid: '7D296480D464EC5C16714E74A43E5BC7',
      author: { union_openid: '7D296480D464EC5C16714E74A43E5BC7' },
    },
  },
  {
    op: 0,
    s: 11,
    t: 'C2C_MSG_REJECT',
    id: 'C2C_MSG_REJECT:da8f64c2-7cde-4dc7-94f1-6813efbda797',
    d: { timestamp: 1741878278, openid: '7D296480D464EC5C16714E74A43E5BC7' },
  },
  {
    op: 0,
    s: 12,
    t: 'C2C_MSG_RECEIVE',
    id: 'C2C_MSG_RECEIVE:f296a5b6-4111-4df4-b828-2f7b8226a401',
    d: { timestamp: 1741878735, openid: '7D296480D464EC5C16714E74A43E5BC7' },
  },
];

/** docs/qq-protocol.md §5.6: the documented `d` (no capture exists; ids and values illustrative). */
export const MEMBER_FRAMES: readonly DispatchFrame[] = [
  {
    op: 0,
    s: 13,
    t: 'GROUP_MEMBER_ADD',
    id: 'GROUP_MEMBER_ADD:0e7c8a57-3f1d-4a8e-9b6c-2d5f4e3a1b0c',
    d: {
      timestamp: 1782000000,
      group_openid: '492C3C6EC6630BD6DD71A32074BDB2F9',
      member_openid: 'A1B2C3D4E5F60718293A4B5C6D7E8F90',
    },
  },
  {
    op: 0,
    s: 14,
    t: 'GROUP_MEMBER_REMOVE',
    id: 'GROUP_MEMBER_REMOVE:1f8d9b68-4a2e-4b9f-8c7d-3e6a5f4b2c1d',
    d: {
      timestamp: 1782000060,
      group_openid: '492C3C6EC6630BD6DD71A32074BDB2F9',
      member_openid: 'A1B2C3D4E5F60718293A4B5C6D7E8F90',
    },
  },
];

/** docs/qq-protocol.md §5.7: real group capture (WebSocket, 2024-08). */
export const INTERACTION: DispatchFrame = {
  op: 0,
  s: 2,
  t: 'INTERACTION_CREATE',
  id: 'INTERACTION_CREATE:5fd23877-f35a-42c0-bd7c-d39d22f459a5',
  d: {
    application_id: '101981675',
    chat_type: 1,
    data: { resolved: {}, type: 11 },
    group_member_openid: '1973D8F78F51DE1E4C8ED4E54E1FB2F8',
    group_openid: '2622F289E5391B88684D0C46AABBBC40',
    id: 'c899f03f-7cae-431b-9982-c4fc8b28de21',
    scene: 'group',
    timestamp: '2024-08-11T14:02:51+08:00',
    type: 11,
    version: 1,
  },
};

/** docs/qq-protocol.md §3.5, §3.7, §5.8: dispatches the catalog does not know. */
export const UNKNOWN_FRAMES: readonly DispatchFrame[] = [
  {
    op: 0,
    s: 1,
    t: 'READY',
    d: {
      version: 1,
      session_id: '082ee18c-0be3-491b-9d8b-fbd95c51673a',
      user: { id: '6158788878435714165', username: '群pro测试机器人', bot: true },
      shard: [0, 0],
    },
  },
  { op: 0, s: 2002, t: 'RESUMED', d: '' },
  {
    op: 0,
    s: 15,
    t: 'SUBSCRIBE_MESSAGE_STATUS',
    id: 'SUBSCRIBE_MESSAGE_STATUS:2a9e0b79-5b3f-4c0a-9d8e-4f7b6a5c3d2e',
    d: {
      openid: '7D296480D464EC5C16714E74A43E5BC7',
      result: [
        { template_id: '1', custom_template_id: '', op: 1, subscribe_id: 'abc', update_ts: 1741878000 },
      ],
    },
  },
];

/** Every well-formed frame above, one or more per catalog type. */
export const WELL_FORMED_FRAMES: readonly DispatchFrame[] = [
  ...Object.values(SEED_FRAMES),
  ...GROUP_NOTICE_CAPTURES,
  GROUP_AT_MESSAGE,
  GROUP_MESSAGE,
  C2C_MESSAGE,
  ...MEMBER_FRAMES,
  ...USER_NOTICE_CAPTURES,
  INTERACTION,
];
