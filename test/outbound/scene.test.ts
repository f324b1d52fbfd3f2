import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../src/events/envelope.js';
import { replySceneOf } from '../../src/outbound/scene.js';

function envelope(qqType: string, type: string, data: Record<string, unknown>, id = `${qqType}:1`): Envelope {
  return {
    id,
    type,
    qq_type: qqType,
    occurred_at: '2026-12-01T10:00:00.000Z',
    received_at: '2026-12-01T10:00:01.000Z',
    app_id: '102000000',
    shard: [0, 1],
    seq: 3,
    data,
    v: 1,
  };
}

const AT = Date.parse('2026-12-01T10:00:00.000Z');

describe('replySceneOf', () => {
  it('answers a group @-message in the group with msg_id, within 5 minutes', () => {
    const scene = replySceneOf(
      envelope('GROUP_AT_MESSAGE_CREATE', 'group.message.at', { group_openid: 'G', message: { id: 'M1' } }),
    );
    expect(scene).toEqual({
      ok: true,
      address: { scene: 'group', openid: 'G', passive: { msg_id: 'M1' }, deadline: AT + 5 * 60_000 },
    });
  });

  it('answers a C2C message to the user with msg_id, within 60 minutes', () => {
    const scene = replySceneOf(
      envelope('C2C_MESSAGE_CREATE', 'c2c.message.created', { user_openid: 'U', message: { id: 'M2' } }),
    );
    expect(scene).toEqual({
      ok: true,
      address: { scene: 'c2c', openid: 'U', passive: { msg_id: 'M2' }, deadline: AT + 60 * 60_000 },
    });
  });

  it.each([
    ['GROUP_ADD_ROBOT', 'group.bot.added', { group_openid: 'G' }, 'group'],
    ['GROUP_MSG_RECEIVE', 'group.push.accepted', { group_openid: 'G' }, 'group'],
    ['C2C_MSG_RECEIVE', 'c2c.push.accepted', { user_openid: 'U' }, 'c2c'],
    ['FRIEND_ADD', 'c2c.friend.added', { user_openid: 'U' }, 'c2c'],
    ['INTERACTION_CREATE', 'interaction.created', { group_openid: 'G', id: 'i' }, 'group'],
    ['INTERACTION_CREATE', 'interaction.created', { user_openid: 'U', id: 'i' }, 'c2c'],
  ])('answers %s with event_id = the frame id (%j)', (qqType, type, data, scene) => {
    const result = replySceneOf(envelope(qqType, type, data, `${qqType}:frame`));
    expect(result.ok && result.address.passive).toEqual({ event_id: `${qqType}:frame` });
    expect(result.ok && result.address.scene).toBe(scene);
  });

  it.each([
    [
      'GROUP_DEL_ROBOT',
      'group.bot.removed',
      { group_openid: 'G' },
      /does not accept replies to GROUP_DEL_ROBOT/,
    ],
    ['FRIEND_DEL', 'c2c.friend.removed', { user_openid: 'U' }, /does not accept replies/],
    ['SOMETHING_NEW', 'qq.unknown', { group_openid: 'G' }, /does not accept replies to SOMETHING_NEW/],
    [
      'GROUP_AT_MESSAGE_CREATE',
      'group.message.at',
      { group_openid: 'G', message: {} },
      /without a message id/,
    ],
    ['FRIEND_ADD', 'c2c.friend.added', {}, /neither group_openid nor user_openid/],
    ['BRIDGE_MESSAGE_SENT', 'bridge.message.sent', { group_openid: 'G' }, /bridge's own events/],
  ])('refuses replies to %s', (qqType, type, data, reason) => {
    const result = replySceneOf(envelope(qqType, type, data));
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toMatch(reason);
  });

  it('counts the window from received_at when the event time is unreadable', () => {
    const bad = {
      ...envelope('FRIEND_ADD', 'c2c.friend.added', { user_openid: 'U' }),
      occurred_at: 'garbage',
    };
    const result = replySceneOf(bad);
    expect(result.ok && result.address.deadline).toBe(AT + 1000 + 60 * 60_000);
  });
});
