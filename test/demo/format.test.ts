import { describe, expect, it } from 'vitest';
import { formatEventLine, shortEventId } from '../../src/demo/format.js';

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
