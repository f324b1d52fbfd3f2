import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../src/demo/redis.js';
import { configWaitingForRedis, startRun } from './run-process.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()!();
});

/**
 * One config for every process of a test: the same journal directory, and Redis on a closed port, so `run` opens
 * its journal and then waits for Redis until it is stopped.
 */
async function sharedConfig(): Promise<{ file: string; journalDir: string }> {
  return configWaitingForRedis(await freePort(), cleanups);
}

interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** `run --role gateway` as a real process, with its log lines parsed. */
function runGateway(config: string) {
  const run = startRun(['--role', 'gateway', '--config', config], cleanups);
  return {
    pid: run.pid,
    kill: (signal: NodeJS.Signals) => run.kill(signal),
    /** Every line so far; each must be a log record. */
    lines: (): LogLine[] => run.stdout.map((text) => JSON.parse(text) as LogLine),
    exited: run.exited.then(({ code }) => code),
    /** Resolves once it logged a line whose message contains `msg` (after its journal is open: "still waiting"). */
    async logged(msg: string): Promise<void> {
      await run.line((record) => typeof record['msg'] === 'string' && record['msg'].includes(msg));
    },
  };
}

describe('qq-webhook-bridge run --role gateway: one journal directory, one process', () => {
  it('refuses a second gateway on the same journal.dir, then starts after the first stopped or was killed', async () => {
    const { file, journalDir } = await sharedConfig();
    const first = runGateway(file);
    await first.logged('still waiting');

    const second = runGateway(file);
    expect(await second.exited).toBe(1);
    // A fatal log record (the logger exists by then), not a plain line on stderr.
    const refused = second.lines().find((line) => line.code === 'BRIDGE_ERR_JOURNAL_LOCKED');
    expect(refused).toMatchObject({ level: 60 });
    expect(refused!.msg).toContain(`journal directory ${journalDir} is in use by pid ${first.pid}`);
    expect(refused!.msg).toMatch(/give each gateway its own journal\.dir/);

    // kill -9: the next start takes the lock over at once, on the socket, not by waiting for staleness.
    first.kill('SIGKILL');
    await first.exited;
    const third = runGateway(file);
    await third.logged('still waiting');
    const takeover = third.lines().find((line) => line.msg.startsWith('taking over the journal lock'));
    expect(takeover).toMatchObject({
      component: 'journal',
      reason: 'nothing listens on its lock socket any more',
      holder: { pid: first.pid },
    });

    // A clean stop releases the lock: nothing is left behind, and the next start takes it without a takeover.
    third.kill('SIGTERM');
    expect(await third.exited).toBe(0);
    expect(readdirSync(journalDir).filter((name) => name.startsWith('journal.lock'))).toEqual([]);
    const fourth = runGateway(file);
    await fourth.logged('still waiting');
    expect(fourth.lines().filter((line) => line.msg.startsWith('taking over'))).toEqual([]);
  }, 120_000);

  it('stops with exit code 1 when its lock is lost, even while its start still waits for Redis', async () => {
    const { file, journalDir } = await sharedConfig();
    const gateway = runGateway(file);
    await gateway.logged('still waiting');
    // As if the directory were cleaned by hand, or another machine had taken the lock over.
    for (const name of readdirSync(journalDir).filter((n) => n.startsWith('journal.lock.'))) {
      rmSync(join(journalDir, name), { recursive: true });
    }
    // Noticed at the next refresh (every 5 s); the deadline only bounds a hung process.
    expect(await gateway.exited).toBe(1);
    const lost = gateway.lines().find((line) => line.code === 'BRIDGE_ERR_JOURNAL_LOCK_LOST');
    expect(lost).toMatchObject({ level: 50, component: 'journal', dir: journalDir });
    expect(lost!.msg).toContain(`lost the lock of journal directory ${journalDir}`);
    expect(gateway.lines().some((line) => line.level === 60 && line.msg === lost!.msg)).toBe(true);
  }, 60_000);
});
