import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../src/demo/redis.js';
import { configWaitingForRedis, startRun, withinDeadline } from './run-process.js';

/** How long a signalled process may take to exit before it counts as hung; a deadline, not a measurement. */
const EXIT_DEADLINE_MS = 10_000;

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()!();
});

interface LogLine {
  level: number;
  msg: string;
}

describe('qq-webhook-bridge run: a shutdown signal while the start waits for Redis', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    'exits 0 on the first %s and logs that it stopped waiting for Redis',
    async (signal) => {
      const { file } = configWaitingForRedis(await freePort(), cleanups);
      const run = startRun(['--config', file], cleanups);
      await run.text('still waiting — start Redis or fix redis.url');

      run.kill(signal);
      const outcome = await withinDeadline(run.exited, EXIT_DEADLINE_MS);
      const lines = run.stdout.map((text) => JSON.parse(text) as LogLine);

      expect(outcome, `still running ${EXIT_DEADLINE_MS} ms after ${signal}`).toEqual({
        code: 0,
        signal: null,
      });
      const messages = lines.map((line) => line.msg);
      expect(messages).toContain(
        'start interrupted while waiting for Redis: shutting down without having connected',
      );
      expect(messages).toContain('shutdown signal during start: start interrupted while waiting for Redis');
      // Contained, not last: under load the signal handler's own line can reach stdout after the others.
      expect(messages, JSON.stringify(messages)).toContain('stopped cleanly');
      // one signal was enough: the forced-exit path never ran
      expect(messages).not.toContain('second signal: exiting without waiting');
    },
  );
});
