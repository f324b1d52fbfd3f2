/**
 * Target filters against hostile `t`: a target's `events` globs are matched against `qq_type`, which is whatever
 * the gateway sent. The matcher must agree with the documented glob semantics — which a regular expression
 * expresses directly, so one serves as the oracle on short strings — and must stay fast on long hostile input,
 * where a backtracking regular expression takes seconds to minutes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../src/events/envelope.js';
import { createTargetFilter } from '../../src/events/filter.js';
import { normalize } from '../../src/events/normalize.js';
import { CTX, SEED_FRAMES } from '../events/fixtures.js';

/** The documented semantics as a regular expression: fine as an oracle, as long as the input is short. */
function oracleFilter(target: { events: string[]; groups: string[] }): (envelope: Envelope) => boolean {
  const compile = (globs: string[]): RegExp | null =>
    globs.length === 0
      ? null
      : new RegExp(
          `^(?:${globs.map((glob) => glob.split('*').map(escapeRegExp).join('.*')).join('|')})$`,
          's',
        );
  const isQqName = (glob: string): boolean => /^[A-Z0-9_*]+$/.test(glob);
  const byQqType = compile(target.events.filter(isQqName));
  const byType = compile(target.events.filter((glob) => !isQqName(glob)));
  return (envelope) => {
    const wanted = (byQqType?.test(envelope.qq_type) ?? false) || (byType?.test(envelope.type) ?? false);
    if (!wanted || target.groups.length === 0) return wanted;
    const group = envelope.data.group_openid;
    return typeof group === 'string' && target.groups.includes(group);
  };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}

const BASE: Envelope = normalize(SEED_FRAMES.GROUP_ADD_ROBOT, CTX).envelope;

/** Characters that matter somewhere: the QQ-name alphabet, case, dots, regex syntax, line breaks, a surrogate. */
const char = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('A', '_') },
  {
    weight: 1,
    arbitrary: fc.constantFrom('B', '1', 'a', '.', '$', '(', '|', '\\', '\n', '\u2028', '\uD800', '群'),
  },
);
const text = fc.string({ unit: char, maxLength: 12 });
const run = fc.string({ unit: char, maxLength: 3 });
const filler = fc.string({ unit: char, maxLength: 3 });

/** A glob and a text built from the same runs (with something between them), so matches are frequent. */
const globAndText = fc
  .tuple(fc.array(run, { minLength: 1, maxLength: 4 }), fc.array(filler, { minLength: 4, maxLength: 4 }))
  .map(([runs, fillers]) => ({
    glob: runs.join('*'),
    text: runs.map((r, i) => `${i === 0 ? '' : fillers[i]!}${r}`).join(''),
  }));

/** The same with a slice of the text cut out: near misses, where runs overlap or the ends no longer fit. */
const globAndNearMiss = fc.tuple(globAndText, fc.nat(), fc.nat({ max: 3 })).map(([pair, at, length]) => {
  const start = at % (pair.text.length + 1);
  return { glob: pair.glob, text: pair.text.slice(0, start) + pair.text.slice(start + length + 1) };
});

const glob = fc.oneof(
  fc.string({ unit: fc.oneof(char, fc.constant('*')), maxLength: 10 }),
  globAndText.map((pair) => pair.glob),
  fc.constantFrom('*', '**', '', 'GROUP_*', 'group.*', 'GROUP_*_*_CREATE'),
);

/** A target and an envelope; often the envelope's qq_type or type is built from one of the target's globs. */
const filterCase = fc
  .record({
    pair: fc.oneof(globAndText, globAndNearMiss),
    others: fc.array(glob, { maxLength: 2 }),
    pairedField: fc.constantFrom('qq_type', 'type', 'neither'),
    groups: fc.array(fc.constantFrom('G1', 'G2'), { maxLength: 2 }),
    qqType: text,
    type: text,
    group: fc.oneof(fc.constantFrom('G1', 'G2', 'G3'), fc.constant(undefined), fc.constant(1)),
  })
  .map(({ pair, others, pairedField, groups, qqType, type, group }) => ({
    target: { events: pairedField === 'neither' ? others : [...others, pair.glob], groups },
    envelope: {
      ...BASE,
      qq_type: pairedField === 'qq_type' ? pair.text : qqType,
      type: pairedField === 'type' ? pair.text : type,
      data: group === undefined ? {} : { group_openid: group },
    },
  }));

/**
 * Globs with several stars whose runs occur all over `GROUP_` repeats: a backtracking matcher tries every way of
 * placing them before the last run fails at the end.
 */
const hostileGlob = fc
  .tuple(
    fc.constantFrom('GROUP_', 'GROUP', ''),
    fc.array(fc.constantFrom('_', 'GROUP', 'P_G', 'GROUP_GROUP_', ''), { minLength: 1, maxLength: 6 }),
    fc.constantFrom('_CREATE', 'X', 'GROUP_X', '_'),
  )
  .map(([first, middle, last]) => [first, ...middle, last].join('*'));

/** Far above what the matcher needs (about a millisecond for 1 MiB), far below what backtracking takes. */
const BOUND_MS = 200;
const SIZES = [64 * 1024, 1024 * 1024];

describe('target filter (property)', () => {
  it('matches exactly like the documented glob semantics on short input', () => {
    fc.assert(
      fc.property(filterCase, ({ target, envelope }) => {
        expect(createTargetFilter(target)(envelope)).toBe(oracleFilter(target)(envelope));
      }),
      { numRuns: 2_000 },
    );
  });

  it('matches a 64 KiB to 1 MiB hostile t against globs with several stars without backtracking', () => {
    fc.assert(
      fc.property(hostileGlob, fc.constantFrom('', '_CREATE', 'X'), (pattern, tail) => {
        const wants = createTargetFilter({ events: [pattern], groups: [] });
        // Smallest first: a matcher that backtracks fails on the first size instead of blocking for minutes.
        for (const size of SIZES) {
          const qqType = 'GROUP_'.repeat(Math.ceil(size / 6)).slice(0, size - tail.length) + tail;
          const startedAt = performance.now();
          wants({ ...BASE, qq_type: qqType });
          const elapsedMs = performance.now() - startedAt;
          expect({ pattern, size, tail, slow: elapsedMs >= BOUND_MS }).toEqual({
            pattern,
            size,
            tail,
            slow: false,
          });
        }
      }),
      { numRuns: 40, endOnFailure: true, examples: [['GROUP_*_*_CREATE', '']] },
    );
  });

  it('still finds the match in a long t', () => {
    const wants = createTargetFilter({ events: ['GROUP_*_*_CREATE'], groups: [] });
    const long = `${'GROUP_'.repeat(20_000)}CREATE`;
    expect(wants({ ...BASE, qq_type: long })).toBe(true);
    expect(wants({ ...BASE, qq_type: `${long}X` })).toBe(false);
  });
});
