import { describe, expect, it } from 'vitest';
import { catalogEntryFor, EVENT_CATALOG, UNKNOWN_EVENT_TYPE } from '../../src/events/catalog.js';
import type { DispatchFrame } from '../../src/events/envelope.js';
import { normalize } from '../../src/events/normalize.js';
import { schemaErrors } from './envelope-schema.js';
import { CTX, UNKNOWN_FRAMES, WELL_FORMED_FRAMES } from './fixtures.js';
import { expectedDataOfInput, UNREADABLE_NOTE } from './valid-frames.js';

/** mulberry32: a tiny seeded generator, so a failure names a reproducible seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Random = () => number;
const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

const KEYS = [
  'id',
  'content',
  'timestamp',
  'author',
  'group_openid',
  'openid',
  'op_member_openid',
  'operator_openid',
  'user_openid',
  'member_openid',
  'attachments',
  'data',
  'type',
  'chat_type',
  '__proto__',
  'x',
];
const STRINGS = [
  '',
  ' ',
  'ROBOT1.0_x!',
  '2025-02-15T16:35:23+08:00',
  '1699240248',
  'garbage',
  '2023-09-04 18:42:57.404149365 +0800 CST m=+352051.39',
  '群',
  '\u0000',
  'constructor',
];
const NUMBERS = [0, -1, 1, 1.5, 1699240248, 1699240248123, 2 ** 53, 1e308, -0];

function value(random: Random, depth: number): unknown {
  const roll = random();
  if (depth <= 0 || roll < 0.45) {
    return pick(random, [
      null,
      true,
      false,
      pick(random, STRINGS),
      pick(random, NUMBERS),
      random().toString(36),
    ]);
  }
  if (roll < 0.7) return Array.from({ length: Math.floor(random() * 4) }, () => value(random, depth - 1));
  const entries = Array.from({ length: Math.floor(random() * 6) }, () => [
    pick(random, KEYS),
    value(random, depth - 1),
  ]);
  return Object.fromEntries(entries);
}

/** A known frame with one field of d (at any depth) dropped or replaced by a random value. */
function mutate(random: Random, frame: DispatchFrame): DispatchFrame {
  const d = structuredClone(frame.d) as Record<string, unknown>;
  let node: Record<string, unknown> = d;
  for (;;) {
    const key = pick(random, Object.keys(node));
    const child = node[key];
    if (typeof child === 'object' && child !== null && !Array.isArray(child) && random() < 0.5) {
      node = child as Record<string, unknown>;
      continue;
    }
    if (random() < 0.3) delete node[key];
    else node[key] = value(random, 2);
    return { ...frame, d };
  }
}

function randomFrame(random: Random): unknown {
  const roll = random();
  if (roll < 0.4) return mutate(random, pick(random, WELL_FORMED_FRAMES));
  if (roll < 0.5) return value(random, 3);
  const t = pick(random, [
    ...Object.keys(EVENT_CATALOG),
    ...UNKNOWN_FRAMES.map((f) => f.t),
    'X',
    '',
    5,
    null,
  ]);
  return {
    op: 0,
    t,
    ...(random() < 0.5 ? { s: pick(random, [...NUMBERS, null, '3']) } : {}),
    ...(random() < 0.5 ? { id: pick(random, [...STRINGS, 7, null]) } : {}),
    d: value(random, 4),
  };
}

describe('normalize on random input', () => {
  it.each(Array.from({ length: 8 }, (_, i) => i + 1))(
    'never throws and always yields a valid envelope that keeps every field of d (seed %d)',
    (seed) => {
      const random = rng(seed);
      for (let i = 0; i < 60; i++) {
        const frame = randomFrame(random);
        const { envelope, dedupeKey } = normalize(frame as DispatchFrame, CTX);
        const errors = schemaErrors(JSON.parse(JSON.stringify(envelope)));
        expect({ frame, errors }).toEqual({ frame, errors: [] });
        expect(dedupeKey).not.toBe('');
        // Schema-valid is not enough (normalize's last resort is schema-valid too): the frame was read and mapped.
        const t = (frame as { t?: unknown } | null)?.t;
        const type =
          typeof t === 'string' ? (catalogEntryFor(t)?.type ?? UNKNOWN_EVENT_TYPE) : UNKNOWN_EVENT_TYPE;
        expect({ frame, type: envelope.type }).toEqual({ frame, type });
        expect({ frame, data: envelope.data }).toEqual({ frame, data: expectedDataOfInput(frame) });
        expect(envelope.malformed ?? []).not.toContainEqual(expect.stringMatching(UNREADABLE_NOTE));
      }
    },
  );

  it('maps every well-formed frame, each field of d kept, without malformed', () => {
    for (const frame of WELL_FORMED_FRAMES) {
      const { envelope } = normalize(frame, CTX);
      expect({ t: frame.t, malformed: envelope.malformed }).toEqual({ t: frame.t, malformed: undefined });
      expect(envelope.type).toBe(EVENT_CATALOG[frame.t]?.type);
      expect(envelope.data).toEqual(expectedDataOfInput(frame));
    }
  });
});
