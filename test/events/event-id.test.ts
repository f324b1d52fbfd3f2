import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DispatchFrame } from '../../src/events/envelope.js';
import { dedupeKeyOf, eventIdOf, MAX_EVENT_ID_LENGTH } from '../../src/events/event-id.js';
import { normalize } from '../../src/events/normalize.js';
import { C2C_MESSAGE, CTX, GROUP_AT_MESSAGE, GROUP_MESSAGE, INTERACTION, SEED_FRAMES } from './fixtures.js';

const sha = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 32);

describe('eventIdOf', () => {
  it('uses the frame id when QQ sent one', () => {
    expect(eventIdOf(SEED_FRAMES.GROUP_ADD_ROBOT)).toBe(
      'GROUP_ADD_ROBOT:39ab91b8-36ee-44d6-80e9-4447a2f2c571',
    );
  });

  it.each([
    ['no id', {}],
    ['an empty id', { id: '' }],
    ['a non-string id', { id: 42 }],
  ])('hashes t + d when the frame has %s', (_name, patch) => {
    const frame = { op: 0, t: 'FRIEND_ADD', d: { openid: 'U', timestamp: 1 }, ...patch } as DispatchFrame;
    expect(eventIdOf(frame)).toBe(`FRIEND_ADD:${sha('FRIEND_ADD{"openid":"U","timestamp":1}')}`);
  });

  it('is stable under key order at every depth', () => {
    const a: DispatchFrame = { op: 0, t: 'X', d: { b: 1, a: { d: [1, { z: 1, y: 2 }], c: 'x' } } };
    const b: DispatchFrame = { op: 0, t: 'X', d: { a: { c: 'x', d: [1, { y: 2, z: 1 }] }, b: 1 } };
    expect(eventIdOf(a)).toBe(eventIdOf(b));
    expect(eventIdOf(a)).toBe(`X:${sha('X{"a":{"c":"x","d":[1,{"y":2,"z":1}]},"b":1}')}`);
  });

  it.each([
    ['a different t', { op: 0, t: 'Y', d: { a: 1 } }],
    ['a different value', { op: 0, t: 'X', d: { a: 2 } }],
    ['a different type', { op: 0, t: 'X', d: { a: '1' } }],
    ['an array order', { op: 0, t: 'X', d: { a: [2, 1] } }],
  ] as const)('changes with %s', (_name, other) => {
    const base: DispatchFrame = { op: 0, t: 'X', d: { a: [1, 2] } };
    expect(eventIdOf(other as DispatchFrame)).not.toBe(eventIdOf(base));
  });

  it.each([
    ['the empty string (RESUMED)', '', `RESUMED:${sha('RESUMED""')}`],
    ['null', null, `RESUMED:${sha('RESUMEDnull')}`],
    ['a missing d', undefined, `RESUMED:${sha('RESUMEDnull')}`],
  ])('hashes a d that is %s', (_name, d, id) => {
    expect(eventIdOf({ op: 0, t: 'RESUMED', d })).toBe(id);
  });

  it('hashes odd in-memory values like JSON.stringify would serialize them, and survives cycles', () => {
    const cyclic: Record<string, unknown> = { a: 1, skip: undefined, fn: () => 1, n: Number.NaN, big: 5n };
    cyclic.self = cyclic;
    expect(eventIdOf({ op: 0, t: 'X', d: cyclic })).toBe(
      `X:${sha('X{"a":1,"big":"5","n":null,"self":"[Circular]"}')}`,
    );
  });
});

/** What a `webhook-id` header and a short Redis key can carry: 1 to 128 visible ASCII characters. */
const USABLE_ID = /^[!-~]{1,128}$/;

describe('eventIdOf: ids that cannot be used as sent', () => {
  const withId = (id: string, t = 'GROUP_ADD_ROBOT'): DispatchFrame => ({ op: 0, t, id, d: { a: 1 } });

  it('keeps a frame id of up to 128 visible ASCII characters as sent', () => {
    const longest = `GROUP_ADD_ROBOT:${'x'.repeat(MAX_EVENT_ID_LENGTH - 16)}`;
    expect(eventIdOf(withId(longest))).toBe(longest);
    expect(eventIdOf(withId('A|b:c%d'))).toBe('A|b:c%d');
  });

  it.each([
    ['one character too long', `GROUP_ADD_ROBOT:${'x'.repeat(MAX_EVENT_ID_LENGTH - 15)}`],
    ['1 MiB long', `GROUP_ADD_ROBOT:${'x'.repeat(1024 * 1024)}`],
    ['with CR and LF', 'GROUP_ADD_ROBOT:a\r\nx-injected: 1'],
    ['with a space', 'GROUP_ADD_ROBOT:a b'],
    ['with NUL', 'GROUP_ADD_ROBOT:a\u0000'],
    ['with non-ASCII characters', 'GROUP_ADD_ROBOT:群'],
    ['a lone surrogate', '\uD800'],
  ])('hashes a frame id %s, with t in front', (_name, id) => {
    expect(eventIdOf(withId(id))).toBe(`GROUP_ADD_ROBOT:${sha(`GROUP_ADD_ROBOT\u0000id\u0000${id}`)}`);
  });

  it('gives one hashed id to every copy of a frame and different ones to different ids', () => {
    const long = 'y'.repeat(200);
    expect(eventIdOf(withId(long))).toBe(eventIdOf({ ...withId(long), d: { b: 2 } }));
    expect(eventIdOf(withId(long))).not.toBe(eventIdOf(withId(`${long}z`)));
  });

  it.each([
    ['longer than 64 characters', 'T'.repeat(1024 * 1024), 'T'.repeat(64)],
    ['with CR, LF and non-ASCII characters', 'EV\r\n群', 'EV___'],
  ])('starts a hashed id with a t %s as visible ASCII, at most 64 characters', (_name, t, prefix) => {
    const id = eventIdOf({ op: 0, t, d: { a: 1 } });
    expect(id).toBe(`${prefix}:${sha(`${t}{"a":1}`)}`);
    expect(eventIdOf(withId('群', t))).toBe(`${prefix}:${sha(`${t}\u0000id\u0000群`)}`);
  });

  it('makes 1 to 128 visible ASCII characters of any t and id, the same for the same frame (property)', () => {
    const anyString = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.string({ unit: fc.constantFrom('A', '_', ':', '|', ' ', '\r', '\n', '群'), maxLength: 300 }),
    );
    fc.assert(
      fc.property(anyString, fc.option(anyString, { nil: undefined }), fc.jsonValue(), (t, id, d) => {
        const frame: DispatchFrame = { op: 0, t, d, ...(id === undefined ? {} : { id }) };
        const eventId = eventIdOf(frame);
        expect(eventId).toMatch(USABLE_ID);
        expect(eventIdOf(structuredClone(frame))).toBe(eventId);
      }),
      { numRuns: 1_000 },
    );
  });
});

describe('dedupeKeyOf', () => {
  it('gives the @-mention and full-mode copies of one message the same key', () => {
    const key = `msg:${(GROUP_AT_MESSAGE.d as { id: string }).id}`;
    expect(dedupeKeyOf(GROUP_AT_MESSAGE)).toBe(key);
    expect(dedupeKeyOf(GROUP_MESSAGE)).toBe(key);
    expect(eventIdOf(GROUP_AT_MESSAGE)).not.toBe(eventIdOf(GROUP_MESSAGE));
    expect(normalize(GROUP_MESSAGE, CTX).dedupeKey).toBe(key);
  });

  it('hashes a d.id that cannot be used as sent, the same for both copies of the message', () => {
    const messageId = `ROBOT1.0_${'m'.repeat(1024 * 1024)}`;
    const at = { ...GROUP_AT_MESSAGE, d: { ...(GROUP_AT_MESSAGE.d as object), id: messageId } };
    const full = { ...GROUP_MESSAGE, d: { ...(GROUP_MESSAGE.d as object), id: messageId } };
    expect(dedupeKeyOf(at)).toBe(`msg:${sha(messageId)}`);
    expect(dedupeKeyOf(full)).toBe(dedupeKeyOf(at));
    expect(dedupeKeyOf({ ...at, d: { id: 'ROBOT1.0_\r\n' } })).toBe(`msg:${sha('ROBOT1.0_\r\n')}`);
  });

  it('keys C2C messages on d.id', () => {
    expect(dedupeKeyOf(C2C_MESSAGE)).toBe(`msg:${(C2C_MESSAGE.d as { id: string }).id}`);
  });

  it.each([
    ['a notice event', SEED_FRAMES.GROUP_ADD_ROBOT],
    ['an interaction (its d.id is not a message id)', INTERACTION],
    ['a message without d.id', { ...GROUP_AT_MESSAGE, d: { content: 'x' } }],
    ['a message with an empty d.id', { ...GROUP_AT_MESSAGE, d: { id: '' } }],
    ['a message with a numeric d.id', { ...GROUP_AT_MESSAGE, d: { id: 5 } }],
    ['a message whose d is not an object', { ...GROUP_AT_MESSAGE, d: 'x' }],
  ])('falls back to the event id for %s', (_name, frame) => {
    expect(dedupeKeyOf(frame)).toBe(eventIdOf(frame));
  });
});
