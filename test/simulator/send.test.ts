import { describe, expect, it } from 'vitest';
import { deriveCallbackKeys, signHex, validationMessage } from '../../src/ingress/ed25519.js';
import type { Simulator, SimulatorOptions } from '../../src/simulator/index.js';
import { startReceiver } from '../helpers/receiver.js';
import { APP_ID, qq, qqError, qqHeaders, sendToGroup, sendToUser } from './qq-rest.js';
import { connectReady, simulatorPerTest } from './sim-client.js';

const GROUP = 'C9F778FE6ADF9D1D1DBE395BF744A33A';
const OTHER_GROUP = '492C3C6EC6630BD6DD71A32074BDB2F9';
const USER = '7D296480D464EC5C16714E74A43E5BC7';
const TEXT = { content: 'hello', msg_type: 0 };
const T0 = 1_750_000_000_000;

// A long heartbeat interval: these clients never heartbeat, and their sockets must stay READY.
const lifecycle = simulatorPerTest({ heartbeatIntervalMs: 60_000 });
const { clients } = lifecycle;

/** A simulator with a READY session, so sends are delivered rather than dropped. */
async function connected(opts: SimulatorOptions = {}): Promise<Simulator> {
  const sim = await lifecycle.start(opts);
  const { client } = await connectReady(sim);
  clients.push(client);
  return sim;
}

/** A simulator on a clock the test moves, with a READY session. */
async function onClock(
  opts: SimulatorOptions = {},
): Promise<{ sim: Simulator; advance: (ms: number) => void }> {
  let now = T0;
  const sim = await connected({ ...opts, now: () => now });
  return { sim, advance: (ms) => (now += ms) };
}

function groupMessage(sim: Simulator, msgId: string, groupOpenid = GROUP): void {
  sim.emit('GROUP_AT_MESSAGE_CREATE', {
    id: msgId,
    group_openid: groupOpenid,
    author: { member_openid: USER },
    content: ' hi',
    timestamp: '2025-03-13T23:30:49+08:00',
  });
}

function userMessage(sim: Simulator, msgId: string): void {
  sim.emit('C2C_MESSAGE_CREATE', { id: msgId, author: { user_openid: USER }, content: 'hi' });
}

describe('send routes: authorization', () => {
  it('refuses a missing, forged or expired token with 401 11244 and records each refusal', async () => {
    const sim = await connected();
    const forged = { authorization: 'QQBot forged', 'x-union-appid': APP_ID };
    expect(
      await qq(sim, 'POST', `/v2/groups/${GROUP}/messages`, TEXT, { 'x-union-appid': APP_ID }),
    ).toMatchObject({ status: 401, body: qqError(11244, 'token not exist or expire') });
    expect((await qq(sim, 'POST', `/v2/groups/${GROUP}/messages`, TEXT, forged)).status).toBe(401);
    const stale = qqHeaders(sim);
    sim.expireTokens();
    expect(await qq(sim, 'POST', `/v2/users/${USER}/messages`, TEXT, stale)).toMatchObject({
      status: 401,
      body: { code: 11244 },
    });
    expect(sim.messages().messages).toMatchObject([
      { id: null, outcome: 'rejected', status: 401, code: 11244, scene: 'group', openid: GROUP },
      { id: null, outcome: 'rejected', status: 401, code: 11244 },
      { id: null, outcome: 'rejected', status: 401, code: 11244, scene: 'c2c', openid: USER },
    ]);
    expect(sim.delivered()).toEqual([]);
  });

  it.each([
    ['missing', {}],
    ['another app id', { 'x-union-appid': '102999999' }],
  ])('refuses an X-Union-Appid that is %s with 630006', async (_name, appid) => {
    const sim = await connected();
    const headers = { authorization: `QQBot ${sim.currentToken()}`, ...appid };
    const answer = await qq(sim, 'POST', `/v2/groups/${GROUP}/messages`, TEXT, headers);
    expect(answer).toMatchObject({ status: 400, body: qqError(630006, 'get header appid failed') });
    expect(answer.headers['x-tps-trace-id']).toBe(answer.body?.trace_id);
    expect(sim.delivered()).toEqual([]);
  });
});

describe('send routes: active messages', () => {
  it('delivers an active message while a session is READY: 200 {id, timestamp in unix seconds}', async () => {
    const { sim } = await onClock();
    const answer = await sendToGroup(sim, GROUP, TEXT);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ id: expect.stringMatching(/^ROBOT1\.0_/), timestamp: T0 / 1000 });
    expect(answer.headers['x-tps-trace-id']).toEqual(expect.any(String));
    expect(sim.delivered()).toEqual([
      {
        id: answer.body?.id,
        scene: 'group',
        openid: GROUP,
        body: TEXT,
        at: T0,
        outcome: 'delivered',
        status: 200,
      },
    ]);
    expect(sim.state()).toMatchObject({ sendRequests: 1, messagesDelivered: 1 });
  });

  it('refuses active messages with 40034105 when activeMessages is deny, and still takes replies', async () => {
    const sim = await connected({ sends: { activeMessages: 'deny' } });
    expect(await sendToUser(sim, USER, TEXT)).toMatchObject({
      status: 400,
      body: qqError(40034105, '主动消息失败, 无权限'),
    });
    userMessage(sim, 'ROBOT1.0_c2c-1');
    expect((await sendToUser(sim, USER, { ...TEXT, msg_id: 'ROBOT1.0_c2c-1' })).status).toBe(200);
    expect(sim.delivered()).toHaveLength(1);
  });

  it('answers timestamp as an RFC 3339 string in China time when sends.timestamp is rfc3339', async () => {
    const { sim } = await onClock({ sends: { timestamp: 'rfc3339' } });
    const answer = await sendToGroup(sim, GROUP, TEXT);
    expect(answer.body?.timestamp).toBe('2025-06-15T23:06:40+08:00');
    expect(Date.parse(answer.body?.timestamp as string)).toBe(T0);
  });
});

describe('send routes: 200 but dropped while the bot is not connected', () => {
  it('answers 200 with an id before any session and after a disconnect, and records the sends as dropped', async () => {
    const sim = await lifecycle.start();
    const early = await sendToGroup(sim, GROUP, TEXT);
    expect(early).toMatchObject({
      status: 200,
      body: { id: expect.any(String), timestamp: expect.any(Number) },
    });

    const { client } = await connectReady(sim);
    clients.push(client);
    const live = await sendToGroup(sim, GROUP, { ...TEXT, content: 'live' });
    client.close();
    await sim.waitFor((state) => state.openConnections === 0);
    const late = await sendToGroup(sim, GROUP, { ...TEXT, content: 'late' });
    expect(late.status).toBe(200);

    expect(sim.messages().messages.map((m) => [m.id, m.outcome])).toEqual([
      [early.body?.id, 'dropped'],
      [live.body?.id, 'delivered'],
      [late.body?.id, 'dropped'],
    ]);
    expect(sim.delivered().map((m) => m.body)).toEqual([{ ...TEXT, content: 'live' }]);
    expect(sim.state()).toMatchObject({ sendRequests: 3, messagesDelivered: 1 });
  });

  it('a dropped reply uses up neither its msg_seq nor one of the five replies', async () => {
    const sim = await lifecycle.start();
    groupMessage(sim, 'ROBOT1.0_m1');
    const reply = { ...TEXT, msg_id: 'ROBOT1.0_m1', msg_seq: 1 };
    expect((await sendToGroup(sim, GROUP, reply)).status).toBe(200);
    const { client } = await connectReady(sim);
    clients.push(client);
    expect((await sendToGroup(sim, GROUP, reply)).status).toBe(200);
    expect(sim.messages().messages.map((m) => m.outcome)).toEqual(['dropped', 'delivered']);
  });

  it('delivers without a socket while the webhook push is on: QQ then reaches the bot over HTTP', async () => {
    const receiver = await startReceiver(answerValidation);
    try {
      const sim = await lifecycle.start();
      await sim.startWebhookPush(receiver.url);
      expect((await sendToGroup(sim, GROUP, TEXT)).status).toBe(200);
      expect(sim.delivered()).toHaveLength(1);
    } finally {
      await receiver.close();
    }
  });
});

describe('send routes: passive messages', () => {
  it('delivers a reply naming an emitted message by msg_id, in its group or to its user', async () => {
    const sim = await connected();
    groupMessage(sim, 'ROBOT1.0_g1');
    userMessage(sim, 'ROBOT1.0_u1');
    expect((await sendToGroup(sim, GROUP, { ...TEXT, msg_id: 'ROBOT1.0_g1' })).status).toBe(200);
    expect((await sendToUser(sim, USER, { ...TEXT, msg_id: 'ROBOT1.0_u1' })).status).toBe(200);
    expect(sim.delivered().map((m) => [m.scene, m.openid])).toEqual([
      ['group', GROUP],
      ['c2c', USER],
    ]);
  });

  it.each([
    ['a msg_id never emitted', GROUP, 'ROBOT1.0_never'],
    ['the msg_id of a message in another group', OTHER_GROUP, 'ROBOT1.0_g1'],
    ['the msg_id of a C2C message', GROUP, 'ROBOT1.0_u1'],
  ])('refuses %s with 40034024', async (_name, groupOpenid, msgId) => {
    const sim = await connected();
    groupMessage(sim, 'ROBOT1.0_g1');
    userMessage(sim, 'ROBOT1.0_u1');
    const answer = await sendToGroup(sim, groupOpenid, { ...TEXT, msg_id: msgId });
    expect(answer).toMatchObject({ status: 400, body: qqError(40034024, '请求参数msg_id无效或越权') });
    expect(sim.messages().messages).toMatchObject([{ outcome: 'rejected', code: 40034024 }]);
  });

  it.each([
    ['group', 'GROUP_ADD_ROBOT', { group_openid: GROUP, op_member_openid: USER }],
    ['group', 'GROUP_MSG_RECEIVE', { group_openid: GROUP, op_member_openid: USER }],
    ['group', 'INTERACTION_CREATE', { id: 'i-1', group_openid: GROUP, scene: 'group' }],
    ['c2c', 'FRIEND_ADD', { openid: USER }],
    ['c2c', 'C2C_MSG_RECEIVE', { openid: USER }],
    ['c2c', 'INTERACTION_CREATE', { id: 'i-2', user_openid: USER, scene: 'c2c' }],
  ] as const)('delivers a %s reply naming an emitted %s by event_id', async (scene, t, d) => {
    const sim = await connected();
    const { id } = sim.emit(t, d);
    const body = { ...TEXT, event_id: id };
    const answer =
      scene === 'group' ? await sendToGroup(sim, GROUP, body) : await sendToUser(sim, USER, body);
    expect(answer.status).toBe(200);
    expect(sim.delivered()).toHaveLength(1);
  });

  it.each([
    ['GROUP_DEL_ROBOT', 'group'],
    ['GROUP_MSG_REJECT', 'group'],
    ['GROUP_AT_MESSAGE_CREATE', 'group'],
    ['GROUP_ADD_ROBOT', 'c2c'],
    ['FRIEND_DEL', 'c2c'],
  ] as const)('refuses an event_id of %s in the %s scene with 40034027', async (t, scene) => {
    const sim = await connected();
    const { id } = sim.emit(t, {});
    const body = { ...TEXT, event_id: id };
    const answer =
      scene === 'group' ? await sendToGroup(sim, GROUP, body) : await sendToUser(sim, USER, body);
    expect(answer).toMatchObject({
      status: 400,
      body: qqError(40034027, '请求参数event_id对应事件不能回复消息'),
    });
  });

  it('refuses an event_id never emitted, or of another group, with 40034025', async () => {
    const sim = await connected();
    const { id } = sim.emit('GROUP_ADD_ROBOT', { group_openid: OTHER_GROUP });
    expect((await sendToGroup(sim, GROUP, { ...TEXT, event_id: 'GROUP_ADD_ROBOT:never' })).body).toEqual(
      qqError(40034025),
    );
    expect((await sendToGroup(sim, GROUP, { ...TEXT, event_id: id })).body).toEqual(qqError(40034025));
    expect((await sendToGroup(sim, OTHER_GROUP, { ...TEXT, event_id: id })).status).toBe(200);
  });

  it('takes group replies for 5 minutes and C2C replies for 60 minutes after the emit, then answers 40034005', async () => {
    const { sim, advance } = await onClock();
    groupMessage(sim, 'ROBOT1.0_g1');
    userMessage(sim, 'ROBOT1.0_u1');
    advance(5 * 60_000);
    expect((await sendToGroup(sim, GROUP, { ...TEXT, msg_id: 'ROBOT1.0_g1', msg_seq: 1 })).status).toBe(200);
    advance(1);
    expect(await sendToGroup(sim, GROUP, { ...TEXT, msg_id: 'ROBOT1.0_g1', msg_seq: 2 })).toMatchObject({
      status: 400,
      body: qqError(40034005),
    });
    expect((await sendToUser(sim, USER, { ...TEXT, msg_id: 'ROBOT1.0_u1', msg_seq: 1 })).status).toBe(200);
    advance(55 * 60_000);
    expect((await sendToUser(sim, USER, { ...TEXT, msg_id: 'ROBOT1.0_u1', msg_seq: 2 })).body).toEqual(
      qqError(40034005),
    );
  });

  it('uses the reply windows of sends.groupReplyWindowMs and sends.c2cReplyWindowMs', async () => {
    const { sim, advance } = await onClock({ sends: { groupReplyWindowMs: 1000, c2cReplyWindowMs: 2000 } });
    const { id } = sim.emit('FRIEND_ADD', { openid: USER });
    groupMessage(sim, 'ROBOT1.0_g1');
    advance(1001);
    expect((await sendToGroup(sim, GROUP, { ...TEXT, msg_id: 'ROBOT1.0_g1' })).body?.code).toBe(40034005);
    expect((await sendToUser(sim, USER, { ...TEXT, event_id: id })).status).toBe(200);
    advance(1000);
    expect((await sendToUser(sim, USER, { ...TEXT, event_id: id, msg_seq: 2 })).body?.code).toBe(40034005);
  });

  it('takes five replies per inbound id; a sixth gets 40034128, a retry of the fifth still 40054005', async () => {
    const sim = await connected();
    groupMessage(sim, 'ROBOT1.0_g1');
    for (let seq = 1; seq <= 5; seq++) {
      expect((await sendToGroup(sim, GROUP, { ...TEXT, msg_id: 'ROBOT1.0_g1', msg_seq: seq })).status).toBe(
        200,
      );
    }
    expect((await sendToGroup(sim, GROUP, { ...TEXT, msg_id: 'ROBOT1.0_g1', msg_seq: 6 })).body).toEqual(
      qqError(40034128),
    );
    expect((await sendToGroup(sim, GROUP, { ...TEXT, msg_id: 'ROBOT1.0_g1', msg_seq: 5 })).body).toEqual(
      qqError(40054005),
    );
    expect(sim.delivered()).toHaveLength(5);
  });

  it('answers the same (msg_id, msg_seq) again with 40054005; an absent msg_seq is 1', async () => {
    const sim = await connected();
    groupMessage(sim, 'ROBOT1.0_g1');
    expect((await sendToGroup(sim, GROUP, { ...TEXT, msg_id: 'ROBOT1.0_g1' })).status).toBe(200);
    for (const again of [{ msg_id: 'ROBOT1.0_g1' }, { msg_id: 'ROBOT1.0_g1', msg_seq: 1 }]) {
      expect(await sendToGroup(sim, GROUP, { ...TEXT, ...again })).toMatchObject({
        status: 400,
        body: qqError(40054005, '消息被去重，请检查请求msgseq'),
      });
    }
    expect((await sendToGroup(sim, GROUP, { ...TEXT, msg_id: 'ROBOT1.0_g1', msg_seq: 2 })).status).toBe(200);
    expect(sim.messages().messages.map((m) => m.code ?? m.outcome)).toEqual([
      'delivered',
      40054005,
      40054005,
      'delivered',
    ]);
  });

  it('dedupes (event_id, msg_seq) the same way', async () => {
    const sim = await connected();
    const { id } = sim.emit('FRIEND_ADD', { openid: USER });
    expect((await sendToUser(sim, USER, { ...TEXT, event_id: id, msg_seq: 3 })).status).toBe(200);
    expect((await sendToUser(sim, USER, { ...TEXT, event_id: id, msg_seq: 3 })).body).toEqual(
      qqError(40054005),
    );
  });

  it('answers business errors with HTTP 200 and the code when sends.errorStatus is 200', async () => {
    const sim = await connected({ sends: { errorStatus: 200 } });
    groupMessage(sim, 'ROBOT1.0_g1');
    await sendToGroup(sim, GROUP, { ...TEXT, msg_id: 'ROBOT1.0_g1' });
    expect(await sendToGroup(sim, GROUP, { ...TEXT, msg_id: 'ROBOT1.0_g1' })).toMatchObject({
      status: 200,
      body: qqError(40054005),
    });
    expect(await qq(sim, 'POST', `/v2/groups/${GROUP}/messages`, TEXT, {})).toMatchObject({ status: 401 });
  });

  it.each([
    ['non-JSON', 'content=hi'],
    ['an array', [TEXT]],
    ['no payload field', { msg_type: 0 }],
    ['no msg_type', { content: 'hi' }],
    ['a string msg_type', { content: 'hi', msg_type: '0' }],
    ['a numeric content', { content: 7, msg_type: 0 }],
    ['a markdown string', { markdown: '# hi', msg_type: 2 }],
    ['msg_seq 0', { ...TEXT, msg_seq: 0 }],
    ['both msg_id and event_id', { ...TEXT, msg_id: 'a', event_id: 'b' }],
  ])('refuses a body with %s with 40034001, storing nothing', async (_name, body) => {
    const sim = await connected();
    const answer = await sendToGroup(sim, GROUP, body);
    expect(answer).toMatchObject({ status: 400, body: qqError(40034001) });
    expect(answer.body?.message).toMatch(/^invalid request body: /);
    expect(sim.messages().messages).toMatchObject([{ outcome: 'rejected', code: 40034001, body }]);
  });
});

describe('PUT /interactions/{id}', () => {
  it('acknowledges an emitted INTERACTION_CREATE with 200 and an empty body, and records it', async () => {
    const { sim } = await onClock();
    sim.emit('INTERACTION_CREATE', { id: 'c899f03f', group_openid: GROUP, scene: 'group', type: 11 });
    const answer = await qq(sim, 'PUT', '/interactions/c899f03f', { code: 0 });
    expect(answer).toMatchObject({ status: 200, text: '' });
    expect(sim.messages().interactions).toEqual([
      { interactionId: 'c899f03f', body: { code: 0 }, at: T0, outcome: 'acked', status: 200 },
    ]);
  });

  it('refuses an unknown interaction id (40034029), a bad code (40034001) and a missing token (401)', async () => {
    const sim = await connected();
    sim.emit('INTERACTION_CREATE', { id: 'i-1', user_openid: USER, scene: 'c2c' });
    sim.emit('GROUP_AT_MESSAGE_CREATE', { id: 'not-an-interaction', group_openid: GROUP });
    expect((await qq(sim, 'PUT', '/interactions/i-9', { code: 0 })).body).toEqual(qqError(40034029));
    expect((await qq(sim, 'PUT', '/interactions/not-an-interaction', { code: 0 })).body).toEqual(
      qqError(40034029),
    );
    expect((await qq(sim, 'PUT', '/interactions/i-1', { code: 6 })).body).toEqual(qqError(40034001));
    expect((await qq(sim, 'PUT', '/interactions/i-1', { code: 0 }, {})).status).toBe(401);
    expect(sim.messages().interactions.map((ack) => [ack.outcome, ack.code])).toEqual([
      ['rejected', 40034029],
      ['rejected', 40034029],
      ['rejected', 40034001],
      ['rejected', 11244],
    ]);
  });
});

describe('DELETE …/messages/{message_id}', () => {
  it('recalls a delivered message within 2 minutes: 200, empty body, marked recalled', async () => {
    const { sim, advance } = await onClock();
    const sent = (await sendToGroup(sim, GROUP, TEXT)).body?.id as string;
    advance(2 * 60_000);
    expect(await qq(sim, 'DELETE', `/v2/groups/${GROUP}/messages/${sent}`)).toMatchObject({
      status: 200,
      text: '',
    });
    expect(sim.delivered()).toMatchObject([{ id: sent, recalled: true }]);
    expect(sim.messages().recalls).toEqual([
      { messageId: sent, scene: 'group', openid: GROUP, at: T0 + 120_000, outcome: 'recalled', status: 200 },
    ]);
    expect((await qq(sim, 'DELETE', `/v2/groups/${GROUP}/messages/${sent}`)).body).toEqual(qqError(40034026));
  });

  it('refuses a recall after the window with 304027', async () => {
    const { sim, advance } = await onClock();
    const sent = (await sendToUser(sim, USER, TEXT)).body?.id as string;
    advance(2 * 60_000 + 1);
    expect(await qq(sim, 'DELETE', `/v2/users/${USER}/messages/${sent}`)).toMatchObject({
      status: 400,
      body: qqError(304027),
    });
    expect(sim.delivered()[0]).not.toHaveProperty('recalled');
  });

  it('uses the recall window of sends.recallWindowMs', async () => {
    const { sim, advance } = await onClock({ sends: { recallWindowMs: 10 } });
    const sent = (await sendToUser(sim, USER, TEXT)).body?.id as string;
    advance(11);
    expect((await qq(sim, 'DELETE', `/v2/users/${USER}/messages/${sent}`)).body?.code).toBe(304027);
  });

  it('refuses an unknown id, another target and a dropped message with 40034026', async () => {
    const sim = await lifecycle.start();
    const dropped = (await sendToGroup(sim, GROUP, TEXT)).body?.id as string;
    const { client } = await connectReady(sim);
    clients.push(client);
    const sent = (await sendToGroup(sim, GROUP, TEXT)).body?.id as string;
    for (const path of [
      `/v2/groups/${GROUP}/messages/ROBOT1.0_never`,
      `/v2/groups/${OTHER_GROUP}/messages/${sent}`,
      `/v2/users/${GROUP}/messages/${sent}`,
      `/v2/groups/${GROUP}/messages/${dropped}`,
    ]) {
      expect((await qq(sim, 'DELETE', path)).body).toEqual(qqError(40034026));
    }
    expect(sim.messages().recalls.map((r) => r.outcome)).toEqual([
      'rejected',
      'rejected',
      'rejected',
      'rejected',
    ]);
  });
});

/** A bot that passes the op-13 URL validation of `startWebhookPush` and ACKs every callback. */
function answerValidation(req: { body: string }): { status: number; body: string } {
  const body = JSON.parse(req.body) as { op: number; d: { plain_token: string; event_ts: string } };
  if (body.op !== 13) return { status: 200, body: '{"op":12,"d":0}' };
  const { privateKey } = deriveCallbackKeys('simulator-secret');
  const signature = signHex(privateKey, validationMessage(body.d.event_ts, body.d.plain_token));
  return { status: 200, body: JSON.stringify({ plain_token: body.d.plain_token, signature }) };
}
