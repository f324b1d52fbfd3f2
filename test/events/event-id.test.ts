import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { DispatchFrame } from '../../src/events/envelope.js';
import { dedupeKeyOf, eventIdOf } from '../../src/events/event-id.js';
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

describe('dedupeKeyOf', () => {
  it('gives the @-mention and full-mode copies of one message the same key', () => {
    const key = `msg:${(GROUP_AT_MESSAGE.d as { id: string }).id}`;
    expect(dedupeKeyOf(GROUP_AT_MESSAGE)).toBe(key);
    expect(dedupeKeyOf(GROUP_MESSAGE)).toBe(key);
    expect(eventIdOf(GROUP_AT_MESSAGE)).not.toBe(eventIdOf(GROUP_MESSAGE));
    expect(normalize(GROUP_MESSAGE, CTX).dedupeKey).toBe(key);
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
