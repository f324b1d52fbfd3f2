import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BridgeError, isBridgeError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { Journal } from '../../src/queue/journal.js';
import { currentIdentity } from '../../src/queue/journal-lock-owner.js';
import { captureLogs, journalEntry, tempDir } from './journal-fixtures.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Longer than any test runs: a lock taken over under it was not taken over for being stale. */
const STALE_NEVER_MS = 3_600_000;
/** How long a child may take to start or exit before the test gives up on it; a deadline, not a measurement. */
const CHILD_DEADLINE_MS = 20_000;

let dir: string;
let removeDir: () => Promise<void>;
const opened: Journal[] = [];
const children: ChildProcess[] = [];

beforeEach(async () => {
  ({ path: dir, remove: removeDir } = await tempDir('jlock'));
});

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  for (const journal of opened.splice(0)) await journal.close();
  await removeDir();
});

async function openJournal(
  options: { dir?: string; logger?: ReturnType<typeof silentLogger> } & Pick<
    Parameters<typeof Journal.open>[0],
    'lock' | 'onLockLost'
  > = {},
): Promise<Journal> {
  const journal = await Journal.open({
    dir: options.dir ?? dir,
    maxBytes: 1 << 20,
    logger: options.logger ?? silentLogger(),
    ...(options.lock ? { lock: options.lock } : {}),
    ...(options.onLockLost ? { onLockLost: options.onLockLost } : {}),
  });
  opened.push(journal);
  return journal;
}

function openError(options: Parameters<typeof openJournal>[0] = {}): Promise<BridgeError> {
  return openJournal(options).then(
    () => {
      throw new Error('the journal opened although another process holds it');
    },
    (err: unknown) => {
      if (!(err instanceof BridgeError)) throw err;
      return err;
    },
  );
}

/** A real process holding the journal in `on` (test/queue/journal-holder.ts); resolves once it holds the lock. */
async function holder(on = dir): Promise<{ child: ChildProcess; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/queue/journal-holder.ts'], {
    cwd: ROOT,
    env: { ...process.env, J_DIR: on },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`holder did not start: ${stderr}`)), CHILD_DEADLINE_MS);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      if (stdout.includes('"ready":true')) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then(() => reject(new Error(`holder exited before holding the lock: ${stderr}`)));
  });
  return { child, exited };
}

/** The lock directories in `on` and the owner record of the newest. */
async function lockState(on = dir): Promise<{ locks: string[]; owner: Record<string, unknown> | undefined }> {
  const locks = (await readdir(on)).filter((name) => /^journal\.lock\.\d+$/.test(name)).sort();
  const newest = locks.at(-1);
  const owner = newest
    ? (JSON.parse(await readFile(join(on, newest, 'owner.json'), 'utf8')) as Record<string, unknown>)
    : undefined;
  return { locks, owner };
}

const takeovers = (logs: ReturnType<typeof captureLogs>) =>
  logs.lines.filter((line) => line.msg.startsWith('taking over the journal lock'));

describe('journal directory lock', () => {
  it('refuses a second process with BRIDGE_ERR_JOURNAL_LOCKED naming the directory, the holder and what to do', async () => {
    const { child } = await holder();
    const { owner } = await lockState();
    expect(owner).toMatchObject({ pid: child.pid, hostname: hostname(), socket: true });

    const err = await openError();
    expect(err.code).toBe('BRIDGE_ERR_JOURNAL_LOCKED');
    expect(err.message).toContain(`journal directory ${dir} is in use by pid ${child.pid}`);
    expect(err.message).toContain(`on host ${hostname()} since ${String(owner!['since'])}`);
    expect(err.message).toMatch(/own journal\.dir .*do not --scale the gateway/);
    // The refusal left the holder's lock alone.
    expect((await lockState()).owner).toEqual(owner);
  });

  it('refuses a second open in the same process too', async () => {
    await openJournal();
    const err = await openError();
    expect(err.code).toBe('BRIDGE_ERR_JOURNAL_LOCKED');
    expect(err.message).toContain(`pid ${process.pid}`);
  });

  it('is released by a clean stop: the next process opens without a takeover', async () => {
    const { child, exited } = await holder();
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect((await lockState()).locks).toEqual([]);

    const logs = captureLogs();
    const journal = await openJournal({ logger: logs.logger });
    await journal.append([journalEntry(1)]);
    expect(takeovers(logs)).toEqual([]);
  });

  it('is taken over at once after kill -9: the dead holder no longer listens on its socket', async () => {
    const { child, exited } = await holder();
    const dead = await lockState();
    child.kill('SIGKILL');
    await exited;
    // The dead holder's lock is still in place, and under STALE_NEVER_MS could never go stale during this test:
    // opening proves the takeover did not wait for staleness.
    expect((await lockState()).locks).toEqual(dead.locks);

    const logs = captureLogs();
    await openJournal({ logger: logs.logger, lock: { staleMs: STALE_NEVER_MS } });
    expect(takeovers(logs)).toHaveLength(1);
    expect(takeovers(logs)[0]).toMatchObject({
      dir,
      reason: 'nothing listens on its lock socket any more',
      holder: { pid: child.pid },
    });
    const now = await lockState();
    expect(now.owner).toMatchObject({ pid: process.pid });
    expect(now.locks).toHaveLength(1); // the dead holder's lock was removed
    expect(now.locks).not.toEqual(dead.locks);
  });

  it('lets exactly one of several processes started together take over a dead holder', async () => {
    const { child, exited } = await holder();
    child.kill('SIGKILL');
    await exited;
    const starters = [0, 1, 2].map(() =>
      holder().then(
        () => 'holds' as const,
        (err: Error) => err.message,
      ),
    );
    const outcomes = await Promise.all(starters);
    expect(outcomes.filter((outcome) => outcome === 'holds')).toHaveLength(1);
    for (const outcome of outcomes.filter((o) => o !== 'holds')) {
      expect(outcome).toMatch(
        /exited before holding the lock: .*BRIDGE_ERR_JOURNAL_LOCKED|is in use by pid/s,
      );
    }
    expect((await lockState()).locks).toHaveLength(1);
  });

  it('is taken over at once after kill -9 where no socket fits the path: the holder pid no longer runs', async () => {
    // Past the Unix socket path limit (about 100 bytes): the lock does without a socket.
    const deep = join(dir, 'x'.repeat(60), 'y'.repeat(60));
    await mkdir(deep, { recursive: true });
    const { child, exited } = await holder(deep);
    expect((await lockState(deep)).owner).toMatchObject({ pid: child.pid, socket: false });
    // Still refused while it runs: its pid is alive.
    expect((await openError({ dir: deep })).code).toBe('BRIDGE_ERR_JOURNAL_LOCKED');
    child.kill('SIGKILL');
    await exited;

    const logs = captureLogs();
    await openJournal({ dir: deep, logger: logs.logger, lock: { staleMs: STALE_NEVER_MS } });
    expect(takeovers(logs)[0]).toMatchObject({
      reason: 'its pid no longer runs',
      holder: { pid: child.pid },
    });
  });

  // The holder's pid namespace and start time come from /proc: Linux only.
  it.runIf(existsSync('/proc/self/ns/pid')).each([
    [
      'a predecessor with the pid this process has now, as in a restarted container',
      () => process.pid,
      (ticks: number | undefined) => ticks,
      'it had the pid this process has now (the same container, restarted)',
    ],
    [
      'a pid that now names a process started later',
      () => process.ppid,
      (ticks: number | undefined) => (ticks ?? 0) + 12_345,
      'its pid now names a process started later',
    ],
  ])('takes over at once from %s', async (_what, pidOf, startTicksOf, reason) => {
    const self = await currentIdentity();
    const lock = join(dir, 'journal.lock.3');
    await mkdir(lock);
    await writeFile(
      join(lock, 'owner.json'),
      JSON.stringify({
        ...self,
        pid: pidOf(),
        startTicks: startTicksOf(self.startTicks),
        id: 'fedcba9876543210',
        since: new Date().toISOString(),
        socket: false,
      }),
    );
    const logs = captureLogs();
    await openJournal({ logger: logs.logger, lock: { staleMs: STALE_NEVER_MS } });
    expect(takeovers(logs)[0]).toMatchObject({ reason });
  });

  it('honours a lock held from another machine while it is fresh, and takes it over once stale', async () => {
    const staleMs = 60_000;
    const foreign = join(dir, 'journal.lock.7');
    await mkdir(foreign);
    const since = new Date().toISOString();
    await writeFile(
      join(foreign, 'owner.json'),
      JSON.stringify({
        pid: process.pid, // a pid means nothing across machines, even our own
        hostname: 'gateway-on-another-host',
        bootId: 'another-machine-boot-id',
        id: '0123456789abcdef',
        since,
        socket: true,
      }),
    );

    const err = await openError({ lock: { staleMs } });
    expect(err.code).toBe('BRIDGE_ERR_JOURNAL_LOCKED');
    expect(err.message).toContain(`pid ${process.pid} on host gateway-on-another-host since ${since}`);
    expect(err.message).toContain('it runs on another machine');
    expect(err.message).toContain('taken over once it has gone 1m without a refresh');

    // Its holder stopped refreshing it longer ago than staleMs.
    const old = new Date(Date.now() - staleMs - 5_000);
    await utimes(join(foreign, 'owner.json'), old, old);
    const logs = captureLogs();
    await openJournal({ logger: logs.logger, lock: { staleMs } });
    expect(takeovers(logs)[0]).toMatchObject({
      reason: expect.stringMatching(/^not refreshed for \d+\.\ds$/),
    });
    expect((await lockState()).locks).toEqual(['journal.lock.8']);
  });

  it('judges a lock directory without a readable record by its age: refused while fresh, taken over once stale', async () => {
    const staleMs = 60_000;
    const emptied = join(dir, 'journal.lock.4');
    await mkdir(emptied);
    const err = await openError({ lock: { staleMs } });
    expect(err.code).toBe('BRIDGE_ERR_JOURNAL_LOCKED');
    expect(err.message).toContain('in use by a process whose owner record is unreadable');

    const old = new Date(Date.now() - staleMs - 5_000);
    await utimes(emptied, old, old);
    const logs = captureLogs();
    await openJournal({ logger: logs.logger, lock: { staleMs } });
    expect(takeovers(logs)[0]).toMatchObject({ holder: 'unreadable' });
    expect((await lockState()).locks).toEqual(['journal.lock.5']);
  });

  it('keeps its lock fresh for other machines by refreshing the record', async () => {
    await openJournal({ lock: { refreshMs: 20 } });
    const [lock] = (await lockState()).locks;
    const record = join(dir, lock!, 'owner.json');
    const old = new Date(Date.now() - 600_000);
    await utimes(record, old, old);
    const deadline = Date.now() + CHILD_DEADLINE_MS;
    while ((await stat(record)).mtimeMs <= old.getTime()) {
      if (Date.now() > deadline) throw new Error('the lock was never refreshed');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  });

  it.each([
    ['its directory vanishes', (lock: string) => rm(lock, { recursive: true })],
    [
      'another machine takes it over',
      async (lock: string) => {
        const next = lock.replace(/\d+$/, (n) => String(Number(n) + 1));
        await mkdir(next);
        await writeFile(join(next, 'owner.json'), '{}');
      },
    ],
  ])('reports a lost lock when %s, and refuses every write from then on', async (_what, breakLock) => {
    const lost: BridgeError[] = [];
    const journal = await openJournal({
      lock: { refreshMs: 20 },
      onLockLost: (err) => lost.push(err),
    });
    await journal.append([journalEntry(1)]);
    const [lock] = (await lockState()).locks;
    await breakLock(join(dir, lock!));
    const deadline = Date.now() + CHILD_DEADLINE_MS;
    while (lost.length === 0) {
      if (Date.now() > deadline) throw new Error('the lost lock was never noticed');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(lost).toHaveLength(1);
    expect(lost[0]!.code).toBe('BRIDGE_ERR_JOURNAL_LOCK_LOST');
    expect(lost[0]!.message).toContain(`lost the lock of journal directory ${dir}`);
    const err: unknown = await journal.append([journalEntry(2)]).catch((e: unknown) => e);
    expect(isBridgeError(err, 'BRIDGE_ERR_JOURNAL_LOCK_LOST')).toBe(true);
    expect(await journal.drain(() => Promise.resolve()).catch((e: unknown) => e)).toSatisfy((e) =>
      isBridgeError(e, 'BRIDGE_ERR_JOURNAL_LOCK_LOST'),
    );
  });
});
