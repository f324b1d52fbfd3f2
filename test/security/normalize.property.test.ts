/**
 * Input to the normalizer: whatever a gateway (or a webhook callback) sends as `t`, `s`, `id` and `d`, `normalize`
 * returns an envelope that validates against the published schema, never throws and keeps every field of `d` in
 * `data` — and a valid frame of any catalog event becomes exactly its documented envelope, without `malformed`.
 * A schema-valid envelope alone proves little: normalize's last resort makes one from anything.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EVENT_CATALOG } from '../../src/events/catalog.js';
import type { DispatchFrame } from '../../src/events/envelope.js';
import { normalize } from '../../src/events/normalize.js';
import { schemaErrors } from '../events/envelope-schema.js';
import { CTX, WELL_FORMED_FRAMES } from '../events/fixtures.js';
import {
  expectedDataOfInput,
  expectedEnvelope,
  UNREADABLE_NOTE,
  validFrame,
} from '../events/valid-frames.js';

const RUNS = 600;

/** The events deduplicated on the message id (`d.id`) instead of the event id. */
const MESSAGE_EVENTS = ['GROUP_AT_MESSAGE_CREATE', 'GROUP_MESSAGE_CREATE', 'C2C_MESSAGE_CREATE'];

/** A JSON value exactly as a frame's `JSON.parse` would produce it (`__proto__` keys included). */
const parsedJson = fc.json({ depthSize: 'small' }).map((text) => JSON.parse(text) as unknown);

/** Strings that mean something to the normalizer somewhere: times, ids, prototype names, odd Unicode. */
const meaningfulString = fc.constantFrom(
  '',
  ' ',
  '2025-02-15T16:35:23+08:00',
  '2023-09-04 18:42:57.404149365 +0800 CST m=+352051.39',
  '1699240248',
  '-1',
  '1e400',
  'NaN',
  '__proto__',
  'constructor',
  'hasOwnProperty',
  '\u0000',
  '\uD800',
  '群',
  'GROUP_ADD_ROBOT:x',
);

const anyValue = fc.oneof(
  { weight: 3, arbitrary: parsedJson },
  { weight: 1, arbitrary: meaningfulString },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 64 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(0, -0, 1.5, -1, 2 ** 53, 2 ** 53 + 2, 1e308, Number.MAX_VALUE, 1699240248123),
  },
  // Own `__proto__` and `constructor` keys, as JSON.parse makes them: a prototype-pollution attempt.
  {
    weight: 1,
    arbitrary: fc
      .constant(null)
      .map(
        () =>
          JSON.parse(
            '{"__proto__":{"content":"polluted","id":7},"constructor":{"prototype":{"x":1}}}',
          ) as unknown,
      ),
  },
);

/** Field names the catalog's mappers read, so generated `d`s reach past the first type check. */
const KNOWN_KEYS = [
  'id',
  'content',
  'timestamp',
  'author',
  'group_openid',
  'group_id',
  'openid',
  'op_member_openid',
  'operator_openid',
  'user_openid',
  'member_openid',
  'member_role',
  'attachments',
  'message_reference',
  'data',
  'type',
  'chat_type',
  'scene',
  'resolved',
  '__proto__',
  'constructor',
];

/** A `d` shaped like the catalog's events, with any value under each known key, nested once. */
const eventLikeD = fc.dictionary(
  fc.constantFrom(...KNOWN_KEYS),
  fc.oneof(anyValue, fc.dictionary(fc.constantFrom(...KNOWN_KEYS), anyValue, { maxKeys: 6 })),
  { maxKeys: 10 },
);

const anyT = fc.oneof(
  fc.constantFrom(...Object.keys(EVENT_CATALOG), 'READY', 'RESUMED', 'X', ''),
  fc.string({ maxLength: 40 }),
  anyValue,
);

/** A frame from the parts; `undefined` parts are left out, as a missing key. */
const anyFrame = fc
  .record(
    {
      op: fc.oneof(fc.constant(0), anyValue),
      t: anyT,
      s: fc.oneof(fc.integer(), fc.double(), anyValue),
      id: fc.oneof(fc.string({ maxLength: 60 }), anyValue),
      d: fc.oneof(eventLikeD, anyValue),
    },
    { requiredKeys: ['t', 'd'] },
  )
  .map((frame) => frame as unknown);

/** A well-formed frame with one part of its `d` replaced, to get close to the real shapes. */
const mutatedFrame = fc
  .tuple(fc.constantFrom(...WELL_FORMED_FRAMES), fc.constantFrom(...KNOWN_KEYS), anyValue)
  .map(([frame, key, value]): unknown => ({ ...frame, d: { ...(frame.d as object), [key]: value } }));

function check(frame: unknown): void {
  let result: ReturnType<typeof normalize> | undefined;
  expect(() => {
    result = normalize(frame as DispatchFrame, CTX);
  }).not.toThrow();
  const { envelope, dedupeKey } = result!;
  // What the producer does with it: one JSON.stringify, which must not throw either.
  const json = JSON.stringify(envelope);
  expect(schemaErrors(JSON.parse(json))).toEqual([]);
  expect(envelope.id).not.toBe('');
  expect(dedupeKey).not.toBe('');
  // Read, not given up on: every field of d is in data, mapped as documented.
  expect(envelope.malformed ?? []).not.toContainEqual(expect.stringMatching(UNREADABLE_NOTE));
  expect(envelope.data).toEqual(expectedDataOfInput(frame));
}

describe('normalize on valid frames (property)', () => {
  it('turns a valid frame of any catalog event into its documented envelope, without malformed', () => {
    fc.assert(
      fc.property(validFrame, (frame) => {
        const { envelope, dedupeKey } = normalize(frame, CTX);
        expect(envelope).toEqual(expectedEnvelope(frame, CTX));
        expect(schemaErrors(JSON.parse(JSON.stringify(envelope)))).toEqual([]);
        const messageId = (frame.d as { id?: string }).id;
        expect(dedupeKey).toBe(MESSAGE_EVENTS.includes(frame.t) ? `msg:${messageId}` : frame.id);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('normalize on hostile frames (property)', () => {
  it('turns any frame with any t, s, id and d into a schema-valid envelope and never throws', () => {
    fc.assert(fc.property(anyFrame, check), { numRuns: RUNS });
  });

  it('does the same for well-formed frames with one field of d replaced by anything', () => {
    fc.assert(fc.property(mutatedFrame, check), { numRuns: RUNS });
  });

  it('does the same when the whole frame is any JSON value', () => {
    fc.assert(fc.property(parsedJson, check), { numRuns: 300 });
  });
});
