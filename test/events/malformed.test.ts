import { describe, expect, it } from 'vitest';
import type { DispatchFrame } from '../../src/events/envelope.js';
import { normalize } from '../../src/events/normalize.js';
import { schemaErrors } from './envelope-schema.js';
import { C2C_MESSAGE, CTX, GROUP_AT_MESSAGE, INTERACTION, RECEIVED_AT, SEED_FRAMES } from './fixtures.js';

const SEED = SEED_FRAMES.GROUP_ADD_ROBOT;

/** `frame` with `d` replaced by `d`, as an untyped value (these frames break the types on purpose). */
function withD(frame: DispatchFrame, d: unknown): DispatchFrame {
  return { ...frame, d };
}

/** `frame.d` (an object) with `patch` applied; an undefined value removes the key. */
function patchD(frame: DispatchFrame, patch: Record<string, unknown>): DispatchFrame {
  const d = { ...(frame.d as Record<string, unknown>), ...patch };
  for (const [key, value] of Object.entries(patch)) if (value === undefined) delete d[key];
  return withD(frame, d);
}

function authorPatch(frame: DispatchFrame, patch: Record<string, unknown>): DispatchFrame {
  const author = (frame.d as { author: Record<string, unknown> }).author;
  return patchD(frame, { author: { ...author, ...patch } });
}

describe('normalize: a d that breaks its event schema is still delivered, with malformed', () => {
  it.each([
    [
      'seed without the operator',
      patchD(SEED, { op_member_openid: undefined }),
      ['d.op_member_openid: missing (expected a string)'],
    ],
    [
      'seed with a numeric group',
      patchD(SEED, { group_openid: 42 }),
      ['d.group_openid: expected a string, found number'],
    ],
    [
      'seed with a fractional timestamp',
      patchD(SEED, { timestamp: 1699240248.5 }),
      ['d.timestamp: expected an integer, found number'],
    ],
    [
      'seed with an empty d',
      withD(SEED, {}),
      [
        'd.group_openid: missing (expected a string)',
        'd.op_member_openid: missing (expected a string)',
        'd.timestamp: missing (expected an integer)',
      ],
    ],
    [
      'seed with both operator spellings',
      patchD(SEED, { operator_openid: 'X' }),
      ['d.operator_openid: unexpected, it collides with op_member_openid renamed to operator_openid'],
    ],
    [
      'message without an author',
      patchD(GROUP_AT_MESSAGE, { author: undefined }),
      ['d.author: missing (expected an object)'],
    ],
    [
      'message with a numeric author openid',
      authorPatch(GROUP_AT_MESSAGE, { member_openid: 7 }),
      ['d.author.member_openid: expected a string, found number'],
    ],
    [
      'message with a string author',
      patchD(GROUP_AT_MESSAGE, { author: 'x' }),
      ['d.author: expected an object, found string'],
    ],
    [
      'message with null attachments',
      patchD(GROUP_AT_MESSAGE, { attachments: null }),
      ['d.attachments: expected an array of objects, found null'],
    ],
    [
      'message with a string attachment',
      patchD(C2C_MESSAGE, { attachments: [{}, 'x.png'] }),
      ['d.attachments[1]: expected an object, found string'],
    ],
    [
      'message without id and content',
      patchD(GROUP_AT_MESSAGE, { id: undefined, content: undefined }),
      ['d.id: missing (expected a string)', 'd.content: missing (expected a string)'],
    ],
    [
      'C2C message from an author without user_openid',
      authorPatch(C2C_MESSAGE, { user_openid: undefined }),
      ['d.author.user_openid: missing (expected a string)'],
    ],
    [
      'interaction with a string type and no data',
      patchD(INTERACTION, { type: '11', data: undefined }),
      ['d.type: expected an integer, found string', 'd.data: missing (expected an object)'],
    ],
  ])('%s', (_name, frame, malformed) => {
    const { envelope } = normalize(frame, CTX);
    expect(envelope.type).not.toBe('qq.unknown');
    expect(envelope.malformed).toEqual(malformed);
    expect(schemaErrors(envelope)).toEqual([]);
  });

  it.each([
    ['the empty string', '', 'string'],
    ['null', null, 'null'],
    ['an array', [1, 2], 'array'],
    ['a number', 42, 'number'],
    ['a boolean', true, 'boolean'],
  ])('keeps a d that is %s as data.value', (_name, d, found) => {
    const { envelope } = normalize(withD(SEED, d), CTX);
    expect(envelope).toMatchObject({
      type: 'group.bot.added',
      occurred_at: RECEIVED_AT,
      data: { value: d },
      malformed: [`d: expected an object, found ${found}`],
    });
    expect(schemaErrors(envelope)).toEqual([]);
  });

  it('reports a missing d', () => {
    const { envelope } = normalize({ op: 0, t: 'GROUP_ADD_ROBOT', s: 1 } as DispatchFrame, CTX);
    expect(envelope).toMatchObject({ data: {}, malformed: ['d: missing (expected an object)'] });
    expect(schemaErrors(envelope)).toEqual([]);
  });

  it('keeps what it can map of a malformed seed', () => {
    const { envelope } = normalize(patchD(SEED, { op_member_openid: undefined, extra: [1] }), CTX);
    expect(envelope.data).toEqual({
      group_openid: SEED.d.group_openid,
      timestamp: SEED.d.timestamp,
      extra: [1],
    });
    expect(envelope.occurred_at).toBe('2023-11-06T03:10:48.000Z');
  });

  it('keeps both keys when op_member_openid and operator_openid collide', () => {
    const { envelope } = normalize(patchD(SEED, { operator_openid: 'X' }), CTX);
    expect(envelope.data).toMatchObject({ op_member_openid: SEED.d.op_member_openid, operator_openid: 'X' });
  });

  it('keeps null attachments as sent instead of replacing them', () => {
    const { data } = normalize(patchD(GROUP_AT_MESSAGE, { attachments: null }), CTX).envelope;
    expect((data.message as Record<string, unknown>).attachments).toBeNull();
  });
});

describe('normalize: timestamps it cannot read', () => {
  it('falls back to received_at and says why, besides the type mismatch', () => {
    const { envelope } = normalize(patchD(SEED, { timestamp: 'garbage' }), CTX);
    expect(envelope.occurred_at).toBe(RECEIVED_AT);
    expect(envelope.malformed).toEqual([
      'd.timestamp: expected an integer, found string',
      'd.timestamp: cannot read "garbage" as a time, occurred_at is received_at',
    ]);
    expect(schemaErrors(envelope)).toEqual([]);
  });

  it('uses a readable timestamp of the wrong type and flags only the type', () => {
    const { envelope } = normalize(patchD(SEED, { timestamp: '2023-11-06T11:10:48+08:00' }), CTX);
    expect(envelope.occurred_at).toBe('2023-11-06T03:10:48.000Z');
    expect(envelope.malformed).toEqual(['d.timestamp: expected an integer, found string']);
  });

  it('flags an unreadable timestamp on an unknown event too', () => {
    const { envelope } = normalize({ op: 0, t: 'NEW_EVENT', d: { timestamp: { at: 1 } } }, CTX);
    expect(envelope.malformed).toEqual([
      'd.timestamp: cannot read object as a time, occurred_at is received_at',
    ]);
    expect(schemaErrors(envelope)).toEqual([]);
  });

  it('reads millisecond timestamps of unknown events', () => {
    const { envelope } = normalize({ op: 0, t: 'NEW_EVENT', d: { timestamp: 1741880682123 } }, CTX);
    expect(envelope.occurred_at).toBe('2025-03-13T15:44:42.123Z');
    expect(envelope.malformed).toBeUndefined();
  });
});

describe('normalize: frames that break the frame shape', () => {
  it.each([
    [
      't is a number',
      { op: 0, t: 5, d: {} },
      { qq_type: '', type: 'qq.unknown' },
      ['t: expected a string, found number'],
    ],
    [
      'id is a number',
      { ...SEED, id: 7 },
      { type: 'group.bot.added' },
      ['id: expected a string, found number'],
    ],
    ['s is a string', { ...SEED, s: '2' }, { seq: null }, ['s: expected an integer, found string']],
    ['s is fractional', { ...SEED, s: 2.5 }, { seq: null }, ['s: expected an integer, found number']],
    ['s is unsafe', { ...SEED, s: 2 ** 60 }, { seq: null }, ['s: expected an integer, found number']],
    [
      'the frame is null',
      null,
      { type: 'qq.unknown', data: {} },
      [
        'frame: expected an object, found null',
        't: missing (expected a string)',
        'd: missing (expected an object)',
      ],
    ],
  ])('%s', (_name, frame, fields, malformed) => {
    const { envelope } = normalize(frame as DispatchFrame, CTX);
    expect(envelope).toMatchObject(fields);
    expect(envelope.malformed).toEqual(malformed);
    expect(schemaErrors(envelope)).toEqual([]);
  });

  it('accepts s: null (webhook frames) without a note', () => {
    const { envelope } = normalize({ ...SEED, s: null }, CTX);
    expect(envelope.seq).toBeNull();
    expect(envelope.malformed).toBeUndefined();
  });
});

describe('normalize: hostile input', () => {
  it('does not mutate the frame', () => {
    const frame = structuredClone(GROUP_AT_MESSAGE);
    const deepFreeze = (value: unknown): void => {
      if (typeof value === 'object' && value !== null) {
        Object.freeze(value);
        Object.values(value).forEach(deepFreeze);
      }
    };
    deepFreeze(frame);
    normalize(frame, CTX);
    expect(frame).toEqual(GROUP_AT_MESSAGE);
  });

  it('keeps an own __proto__ key as data, without touching any prototype', () => {
    const seed = JSON.parse(
      '{"op":0,"t":"GROUP_ADD_ROBOT","d":{"__proto__":{"polluted":1},"group_openid":"G","op_member_openid":"O","timestamp":1}}',
    ) as DispatchFrame;
    const { data } = normalize(seed, CTX).envelope;
    expect(Object.hasOwn(data, '__proto__')).toBe(true);
    expect(JSON.stringify(data)).toBe(
      '{"__proto__":{"polluted":1},"group_openid":"G","operator_openid":"O","timestamp":1}',
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('delivers a frame too deep to hash, with an id and a note', () => {
    let d: unknown = 'leaf';
    for (let i = 0; i < 200_000; i++) d = [d];
    const { envelope } = normalize({ op: 0, t: 'NEW_EVENT', s: 9, d }, CTX);
    expect(envelope).toMatchObject({ type: 'qq.unknown', qq_type: 'NEW_EVENT', seq: 9, data: {} });
    expect(envelope.id).toMatch(/^NEW_EVENT:[0-9a-f]{32}$/);
    expect(envelope.malformed?.[0]).toMatch(/^frame: could not be read \(.+\), data left empty$/);
    expect(schemaErrors(envelope)).toEqual([]);
  });

  it('survives a frame whose getters throw', () => {
    const frame = new Proxy(
      { op: 0, t: 'GROUP_ADD_ROBOT', id: 'GROUP_ADD_ROBOT:x', d: {} },
      {
        get: (target, key) => {
          if (key === 'd') throw new Error('boom');
          return Reflect.get(target, key) as unknown;
        },
      },
    ) as DispatchFrame;
    const { envelope, dedupeKey } = normalize(frame, CTX);
    expect(envelope).toMatchObject({
      id: 'GROUP_ADD_ROBOT:x',
      type: 'group.bot.added',
      malformed: ['frame: could not be read (boom), data left empty'],
    });
    expect(dedupeKey).toBe('GROUP_ADD_ROBOT:x');
    expect(schemaErrors(envelope)).toEqual([]);
  });
});
