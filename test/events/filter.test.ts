import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../src/events/envelope.js';
import { createTargetFilter } from '../../src/events/filter.js';
import { normalize } from '../../src/events/normalize.js';
import {
  C2C_MESSAGE,
  CTX,
  GROUP_AT_MESSAGE,
  INTERACTION,
  SEED_FRAMES,
  UNKNOWN_FRAMES,
  USER_NOTICE_CAPTURES,
} from './fixtures.js';

const envelopeOf = (frame: Parameters<typeof normalize>[0]): Envelope => normalize(frame, CTX).envelope;

const BOT_ADDED = envelopeOf(SEED_FRAMES.GROUP_ADD_ROBOT); // group.bot.added, GROUP_ADD_ROBOT, group C9F7…
const PUSH_ON = envelopeOf(SEED_FRAMES.GROUP_MSG_RECEIVE); // group.push.accepted, GROUP_MSG_RECEIVE
const AT_MESSAGE = envelopeOf(GROUP_AT_MESSAGE); // group.message.at, group D4DE…
const C2C = envelopeOf(C2C_MESSAGE); // c2c.message.created, no group
const FRIEND = envelopeOf(USER_NOTICE_CAPTURES[0]!); // c2c.friend.added
const CLICK = envelopeOf(INTERACTION); // interaction.created, group 2622…
const READY = envelopeOf(UNKNOWN_FRAMES[0]!); // qq.unknown, READY

const ALL = { BOT_ADDED, PUSH_ON, AT_MESSAGE, C2C, FRIEND, CLICK, READY };

function matching(events: string[], groups: string[] = []): string[] {
  const wants = createTargetFilter({ events, groups });
  return Object.entries(ALL)
    .filter(([, envelope]) => wants(envelope))
    .map(([name]) => name);
}

describe('createTargetFilter: events', () => {
  it.each([
    [['*'], ['BOT_ADDED', 'PUSH_ON', 'AT_MESSAGE', 'C2C', 'FRIEND', 'CLICK', 'READY']],
    [['group.*'], ['BOT_ADDED', 'PUSH_ON', 'AT_MESSAGE']],
    [['group.bot.*'], ['BOT_ADDED']],
    [['group.*.added'], ['BOT_ADDED']],
    [['*.added'], ['BOT_ADDED', 'FRIEND']],
    [['*.message.*'], ['AT_MESSAGE', 'C2C']],
    [
      ['c2c.*', 'interaction.created'],
      ['C2C', 'FRIEND', 'CLICK'],
    ],
    [['qq.unknown'], ['READY']],
    [['group.bot.added'], ['BOT_ADDED']],
    [['group.bot'], []],
    [['group'], []],
    [['GROUP_ADD_ROBOT'], ['BOT_ADDED']],
    [['GROUP_*'], ['BOT_ADDED', 'PUSH_ON', 'AT_MESSAGE']],
    [['*_MSG_*'], ['PUSH_ON']],
    [['READY'], ['READY']],
    [
      ['GROUP_ADD_ROBOT', 'c2c.*'],
      ['BOT_ADDED', 'C2C', 'FRIEND'],
    ],
    [['group_add_robot'], []],
    [['Group.*'], []],
    [['group?bot?added'], []],
    [['group.bot.added$|.*'], []],
    [[], []],
  ])('%j matches %j', (events, expected) => {
    expect(matching(events)).toEqual(expected);
  });

  it.each([
    ['AA*AA', 'AAAA', true],
    ['AA*AA', 'AAA', false],
    ['A*A*A', 'AAA', true],
    ['A*A*A', 'AA', false],
    ['*A*A', 'A', false],
    ['A**', 'A', true],
    ['**', '', true],
    ['GROUP_*_*_CREATE', 'GROUP__CREATE', false],
    ['GROUP_*_*_CREATE', 'GROUP___CREATE', true],
  ])('%s against qq_type %j: %s (the literal runs may not overlap)', (glob, qqType, expected) => {
    expect(createTargetFilter({ events: [glob], groups: [] })({ ...BOT_ADDED, qq_type: qqType })).toBe(
      expected,
    );
  });

  it('treats regex characters in a glob literally', () => {
    const wants = createTargetFilter({ events: ['group.(bot).*'], groups: [] });
    expect(wants({ ...BOT_ADDED, type: 'group.(bot).x' })).toBe(true);
    expect(wants(BOT_ADDED)).toBe(false);
  });
});

describe('createTargetFilter: groups', () => {
  it('keeps only the listed groups, and drops events without a group', () => {
    expect(matching(['*'], ['C9F778FE6ADF9D1D1DBE395BF744A33A'])).toEqual(['BOT_ADDED', 'PUSH_ON']);
    expect(matching(['*'], ['D4DE5F2EF86365A1FBEAA8C7C3C12B91', '2622F289E5391B88684D0C46AABBBC40'])).toEqual(
      ['AT_MESSAGE', 'CLICK'],
    );
  });

  it('applies both lists', () => {
    expect(matching(['group.push.*'], ['C9F778FE6ADF9D1D1DBE395BF744A33A'])).toEqual(['PUSH_ON']);
  });

  it('ignores a group_openid that is not a string', () => {
    const wants = createTargetFilter({ events: ['*'], groups: ['1'] });
    expect(wants({ ...BOT_ADDED, data: { group_openid: 1 } })).toBe(false);
  });
});
