import { describe, expect, it } from 'vitest';
import { DarkTimeMeter, type DarkReason } from '../../src/gateway/dark-time.js';
import type { ReconnectReason, ShardStatus } from '../../src/gateway/session.js';

/** A step: at time `at` (ms), a status change or a reconnect reason. */
type Step = [at: number, input: ShardStatus | { reconnect: ReconnectReason }];

function run(steps: Step[]): [DarkReason, number][] {
  let now = 0;
  const reports: [DarkReason, number][] = [];
  const meter = new DarkTimeMeter(
    (reason, seconds) => reports.push([reason, seconds]),
    () => now,
  );
  for (const [at, input] of steps) {
    now = at;
    if (typeof input === 'string') meter.status(input);
    else meter.reconnect(input.reconnect);
  }
  return reports;
}

describe('DarkTimeMeter', () => {
  it.each<[string, Step[], [DarkReason, number][]]>([
    [
      'start to READY',
      [
        [0, 'connecting'],
        [100, 'identifying'],
        [1_500, 'ready'],
      ],
      [['start', 1.5]],
    ],
    [
      'nothing before the first READY arrives',
      [
        [10, 'connecting'],
        [20, 'identifying'],
      ],
      [],
    ],
    [
      'op 7 → RESUMED',
      [
        [0, 'ready'],
        [10_000, { reconnect: 'op7' }],
        [10_001, 'waiting'],
        [10_002, 'connecting'],
        [10_050, 'resumed'],
      ],
      [
        ['start', 0],
        ['op7', 0.049],
      ],
    ],
    [
      'the first reason of an episode names it, a second failure does not',
      [
        [0, 'ready'],
        [1_000, { reconnect: 'zombie' }],
        [1_000, 'waiting'],
        [1_000, 'connecting'],
        [1_200, { reconnect: 'network' }],
        [1_200, 'waiting'],
        [2_000, 'resumed'],
      ],
      [
        ['start', 0],
        ['zombie', 1],
      ],
    ],
    [
      'READY after a new session (op 9)',
      [
        [0, 'resumed'],
        [500, { reconnect: 'invalid_session' }],
        [500, 'waiting'],
        [3_500, 'ready'],
      ],
      [
        ['start', 0],
        ['invalid_session', 3],
      ],
    ],
    [
      'a stop is not dark time',
      [
        [0, 'ready'],
        [1_000, 'stopped'],
        [5_000, 'ready'],
      ],
      [['start', 0]],
    ],
    [
      'a fatal close without a reconnect counts as close',
      [
        [0, 'ready'],
        [1_000, 'fatal'],
        [4_000, 'ready'],
      ],
      [
        ['start', 0],
        ['close', 3],
      ],
    ],
    [
      'READY twice reports once',
      [
        [0, 'connecting'],
        [200, 'ready'],
        [300, 'ready'],
      ],
      [['start', 0.2]],
    ],
  ])('%s', (_what, steps, expected) => {
    expect(run(steps)).toEqual(expected);
  });
});
