import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isBridgeError } from '../../src/errors.js';
import { listDeadLetters } from '../../src/queue/dlq.js';
import { waitFor } from '../delivery/fixtures.js';
import {
  backdateDeadLetter,
  DAY_MS,
  startDeadLetterWorld,
  type DeadLetterWorld,
} from '../queue/dead-letter-fixtures.js';
import { runDlq, type DlqRun } from './dlq-fixtures.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

let world: DeadLetterWorld;

beforeEach(async () => {
  world = await startDeadLetterWorld();
});

afterEach(async () => {
  await world.close();
});

/** Runs `qq-webhook-bridge dlq <args> --target backend` against the world's config, in this process. */
function dlq(args: string[], options: { interactive?: boolean; answer?: string } = {}): Promise<DlqRun> {
  return runDlq(world.configFile, [...args, '--target', 'backend'], options);
}

async function failedIds(): Promise<string[]> {
  return (await listDeadLetters(world.queue, { limit: 1000 })).map((row) => row.eventId).sort();
}

/** Four dead letters that failed 30 days, 8 days and 1 day ago, and now. */
async function agedDeadLetters(): Promise<void> {
  await world.deadLetter(
    'GROUP_ADD_ROBOT:30d',
    'GROUP_ADD_ROBOT:8d',
    'GROUP_ADD_ROBOT:1d',
    'GROUP_ADD_ROBOT:now',
  );
  const now = Date.now();
  await backdateDeadLetter(world, 'GROUP_ADD_ROBOT:30d', now - 30 * DAY_MS);
  await backdateDeadLetter(world, 'GROUP_ADD_ROBOT:8d', now - 8 * DAY_MS);
  await backdateDeadLetter(world, 'GROUP_ADD_ROBOT:1d', now - DAY_MS);
}

describe('dlq list and show', () => {
  it('lists dead letters as text and as JSON, and shows one with its attempts', async () => {
    const empty = await dlq(['list']);
    expect(empty).toMatchObject({
      stdout: 'no dead letters for target backend\n',
      exitCode: 0,
      error: undefined,
    });

    await world.deadLetter('GROUP_ADD_ROBOT:a', 'GROUP_ADD_ROBOT:b');
    const text = await dlq(['list']);
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(line).toMatch(
        /^\d{4}-\d\d-\d\dT[\d:.]+Z {2}GROUP_ADD_ROBOT:[ab] {2}group\.bot\.added {2}attempts=1 {2}HTTP 400$/,
      );
    }

    const json = await dlq(['list', '--json', '--limit', '1']);
    const rows = JSON.parse(json.stdout) as { eventId: string; lastStatus: number }[];
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ lastStatus: 400, type: 'group.bot.added' });

    const shown = await dlq(['show', '--id', 'GROUP_ADD_ROBOT:a']);
    expect(shown.exitCode).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({
      eventId: 'GROUP_ADD_ROBOT:a',
      failedReason: 'HTTP 400',
      envelope: { id: 'GROUP_ADD_ROBOT:a', type: 'group.bot.added' },
      attempts: [{ attempt: 1, status: 400, outcome: 'rejected', body: 'no thanks' }],
    });

    const missing = await dlq(['show', '--id', 'GROUP_ADD_ROBOT:nope']);
    expect(isBridgeError(missing.error, 'BRIDGE_ERR_NOT_FOUND')).toBe(true);
    expect((missing.error as Error).message).toBe(
      'no dead letter GROUP_ADD_ROBOT:nope for target backend (see dlq list)',
    );
  });
});

describe('dlq replay', () => {
  it('delivers one dead letter again with the same webhook-id', async () => {
    await world.deadLetter('GROUP_ADD_ROBOT:a', 'GROUP_ADD_ROBOT:b');
    world.respondWith(200);
    const run = await dlq(['replay', '--id', 'GROUP_ADD_ROBOT:a']);
    expect(run).toMatchObject({ stdout: 'replayed 1 for target backend\n', exitCode: 0 });
    await waitFor(async () => (await world.stateOf('GROUP_ADD_ROBOT:a')) === 'completed');
    expect(world.receiver.requests.map((req) => req.headers['webhook-id'])).toEqual([
      expect.stringMatching(/^GROUP_ADD_ROBOT:[ab]$/),
      expect.stringMatching(/^GROUP_ADD_ROBOT:[ab]$/),
      'GROUP_ADD_ROBOT:a',
    ]);
    expect(await failedIds()).toEqual(['GROUP_ADD_ROBOT:b']);

    const again = await dlq(['replay', '--id', 'GROUP_ADD_ROBOT:a']);
    expect(isBridgeError(again.error, 'BRIDGE_ERR_NOT_FOUND')).toBe(true);
  });
});

describe('dlq purge', () => {
  it('--older-than 7d deletes the dead letters that failed more than 7 days ago and keeps the newer ones', async () => {
    await agedDeadLetters();
    const run = await dlq(['purge', '--older-than', '7d', '--yes']);
    expect(run).toMatchObject({ stdout: 'purged 2 for target backend\n', exitCode: 0, error: undefined });
    expect(await failedIds()).toEqual(['GROUP_ADD_ROBOT:1d', 'GROUP_ADD_ROBOT:now']);
    expect(await world.stateOf('GROUP_ADD_ROBOT:30d')).toBe('unknown');
  });

  it.each([
    ['7', '--older-than: "7" has no unit; write it with one of ms, s, m, h, d, e.g. 7d'],
    ['-7d', '--older-than: "-7d" is negative; a duration is zero or more, like 1d'],
    [
      '999999999d',
      '--older-than: "999999999d" is too long; the longest duration is 104249991d (9007199254740991 ms)',
    ],
    [
      'a week',
      '--older-than: "a week" is not a duration; write a number and one of ms, s, m, h, d, like 500ms, 10s, 5m, 1h or 7d',
    ],
  ])('--older-than %s is refused, saying why, and deletes nothing', async (value, message) => {
    await agedDeadLetters();
    const run = await dlq(['purge', '--older-than', value, '--yes']);
    expect(await failedIds()).toHaveLength(4);
    expect(isBridgeError(run.error, 'BRIDGE_ERR_USAGE')).toBe(true);
    expect((run.error as Error).message).toBe(message);
  });

  it('asks on a terminal, naming how many dead letters go, and deletes only after yes', async () => {
    await agedDeadLetters();
    const declined = await dlq(['purge', '--older-than', '7d'], { interactive: true, answer: 'n' });
    expect(declined.stderr).toBe('delete 2 dead letters of target backend older than 7d? [y/N] ');
    expect(isBridgeError(declined.error, 'BRIDGE_ERR_ABORTED')).toBe(true);
    expect((declined.error as Error).message).toBe('not confirmed; nothing was deleted');
    expect(await failedIds()).toHaveLength(4);

    const confirmed = await dlq(['purge', '--all'], { interactive: true, answer: 'y' });
    expect(confirmed.stderr).toBe('delete 4 dead letters of target backend? [y/N] ');
    expect(confirmed).toMatchObject({ stdout: 'purged 4 for target backend\n', exitCode: 0 });
    expect(await failedIds()).toEqual([]);

    // Nothing to delete: nothing to ask.
    const nothing = await dlq(['purge', '--all'], { interactive: true });
    expect(nothing).toMatchObject({ stderr: '', stdout: 'purged 0 for target backend\n', exitCode: 0 });
  });

  it('asks about one dead letter by id', async () => {
    await world.deadLetter('GROUP_ADD_ROBOT:a');
    const run = await dlq(['purge', '--id', 'GROUP_ADD_ROBOT:a'], { interactive: true, answer: 'yes' });
    expect(run.stderr).toBe('delete dead letter GROUP_ADD_ROBOT:a of target backend? [y/N] ');
    expect(run.stdout).toBe('purged 1 for target backend\n');
    expect(await failedIds()).toEqual([]);
  });

  it('refuses without --yes when stdin is not a terminal, and deletes nothing', async () => {
    await world.deadLetter('GROUP_ADD_ROBOT:a');
    const run = await dlq(['purge', '--all']);
    expect(isBridgeError(run.error, 'BRIDGE_ERR_USAGE')).toBe(true);
    expect((run.error as Error).message).toBe(
      'dlq purge deletes for good and asks first, but stdin is not a terminal; add --yes to purge without asking',
    );
    expect(await failedIds()).toEqual(['GROUP_ADD_ROBOT:a']);
  });
});

describe('the dlq commands as a process', () => {
  const cli = (...args: string[]) =>
    promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'src/cli.ts', 'dlq', ...args, '--target', 'backend', '--config', world.configFile],
      { cwd: ROOT, timeout: 60_000 },
    ).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (err: { code: number; stdout: string; stderr: string }) => err,
    );

  it('exits 2 with the reason for a bare number or a missing --yes, and deletes nothing', async () => {
    await agedDeadLetters();
    const bare = await cli('purge', '--older-than', '7', '--yes');
    expect(bare).toMatchObject({
      code: 2,
      stdout: '',
      stderr: 'error: --older-than: "7" has no unit; write it with one of ms, s, m, h, d, e.g. 7d\n',
    });
    // Spawned with a pipe for stdin: no terminal, nobody to answer.
    const unconfirmed = await cli('purge', '--older-than', '7d');
    expect(unconfirmed).toMatchObject({
      code: 2,
      stdout: '',
      stderr:
        'error: dlq purge deletes for good and asks first, but stdin is not a terminal; add --yes to purge ' +
        'without asking\n',
    });
    expect(await failedIds()).toHaveLength(4);
  });
});
