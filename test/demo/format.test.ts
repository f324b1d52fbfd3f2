import { describe, expect, it } from 'vitest';
import { formatEventLine, formatQqMessageLine, shortEventId } from '../../src/demo/format.js';
import type { SentMessage } from '../../src/simulator/index.js';

describe('formatEventLine', () => {
  it('prints the type, a short event id and the openids worth a glance', () => {
    const line = formatEventLine({
      id: 'GROUP_ADD_ROBOT:39ab91b8-36ee-44d6-80e9-4447a2f2c571',
      type: 'group.bot.added',
      qq_type: 'GROUP_ADD_ROBOT',
      data: {
        group_openid: 'C9F778FE6ADF9D1D1DBE395BF744A33A',
        operator_openid: 'E4F4AEA33253A2797FB897C50B81D7ED',
        timestamp: 1699240248,
      },
    });
    expect(line).toMatch(/^✓ group\.bot\.added +GROUP_ADD_ROBOT:39ab91b8… +group=C9F7… operator=E4F4…$/);
  });

  it('quotes message content, truncated, and counts attachments', () => {
    const line = formatEventLine({
      id: 'C2C_MESSAGE_CREATE:abc',
      type: 'c2c.message.created',
      data: {
        user_openid: '7D296480D464EC5C16714E74A43E5BC7',
        message: { content: 'x'.repeat(40), attachments: [{}, {}] },
      },
    });
    expect(line).toContain(`user=7D29… "${'x'.repeat(30)}…" +2 attachments`);
  });

  it('names the QQ type of unknown events and shows malformed notes', () => {
    const line = formatEventLine({
      id: 'X:1',
      type: 'qq.unknown',
      qq_type: 'SUBSCRIBE_MESSAGE_STATUS',
      data: {},
      malformed: ['d is not an object'],
    });
    expect(line).toContain('qq_type=SUBSCRIBE_MESSAGE_STATUS malformed=["d is not an object"]');
  });
});

describe('shortEventId', () => {
  it.each([
    ['GROUP_ADD_ROBOT:39ab91b8-36ee-44d6', 'GROUP_ADD_ROBOT:39ab91b8…'],
    ['GROUP_ADD_ROBOT:short', 'GROUP_ADD_ROBOT:short'],
    ['no-colon-but-long-id', 'no-colon…'],
  ])('%s → %s', (id, expected) => {
    expect(shortEventId(id)).toBe(expected);
  });
});

describe('formatQqMessageLine', () => {
  const sent: SentMessage = {
    id: 'ROBOT1.0_kKRmSBhzt8Ml8ub3dNlMfg',
    scene: 'group',
    openid: 'C9F778FE6ADF9D1D1DBE395BF744A33A',
    body: { content: 'echo: 今天天气怎么样', msg_type: 0, msg_id: 'ROBOT1.0_m', msg_seq: 1 },
    at: 0,
    outcome: 'delivered',
    status: 200,
  };

  it('prints a reply QQ stored with its id, group, msg_seq and text', () => {
    expect(formatQqMessageLine(sent)).toMatch(
      /^↩ reply at QQ +ROBOT1\.0_kKRmSBhz… +group=C9F7… msg_seq=1 "echo: 今天天气怎么样"$/,
    );
  });

  it('marks an active message, a refusal with its code and a dropped send', () => {
    const active = { ...sent, scene: 'c2c' as const, body: { content: 'hi', msg_type: 0 } };
    expect(formatQqMessageLine(active)).toMatch(/^↩ message at QQ +ROBOT1\.0_kKRmSBhz… +user=C9F7… "hi"$/);
    expect(
      formatQqMessageLine({ ...sent, id: null, outcome: 'rejected', status: 400, code: 40034005 }),
    ).toMatch(/^✗ reply at QQ +- +group=C9F7… msg_seq=1 "echo: 今天天气怎么样" refused: QQ code 40034005$/);
    expect(formatQqMessageLine({ ...sent, outcome: 'dropped' })).toContain(
      'dropped: no gateway session was READY',
    );
  });
});
