import { spawn } from 'node:child_process';
import { appendFile, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isBridgeError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { DRAIN_BATCH_ENTRIES, Journal, type JournalEntry } from '../../src/queue/journal.js';
import { captureLogs, journalEntry, range, tempDir } from './journal-fixtures.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

let dir: string;
let removeDir: () => Promise<void>;
const opened: Journal[] = [];

beforeEach(async () => {
  ({ path: dir, remove: removeDir } = await tempDir('journal'));
});

afterEach(async () => {
  for (const journal of opened.splice(0)) await journal.close();
  await removeDir();
});

async function openJournal(options: { maxBytes?: number; logger?: ReturnType<typeof silentLogger> } = {}) {
  const journal = await Journal.open({
    dir,
    maxBytes: options.maxBytes ?? 1024 * 1024,
    logger: options.logger ?? silentLogger(),
  });
  opened.push(journal);
  return journal;
}

/**
 * The next process on the directory: closes the journals still open here first — closing writes nothing (every
 * append is already on disk), it only releases the directory's lock, as the exit of a process would.
 */
async function reopenJournal(options: Parameters<typeof openJournal>[0] = {}) {
  for (const journal of opened.splice(0)) await journal.close();
  return openJournal(options);
}

const seqOf = (entry: JournalEntry): number => entry.frame.s ?? -1;

async function drainAll(journal: Journal): Promise<number[]> {
  const seen: number[] = [];
  await journal.drain(async (entries) => {
    seen.push(...entries.map(seqOf));
    await Promise.resolve();
  });
  return seen;
}

/** Runs `script` (ESM, with `Journal` and `silentLogger` imported) in a child process on the test's journal. */
function spawnJournalChild(script: string, env: Record<string, string>) {
  const source = `
    import { appendFileSync, writeFileSync } from 'node:fs';
    import { Journal } from ${JSON.stringify(join(ROOT, 'src/queue/journal.ts'))};
    import { silentLogger } from ${JSON.stringify(join(ROOT, 'src/log.ts'))};
    const journal = await Journal.open({ dir: process.env.J_DIR, maxBytes: 1 << 20, logger: silentLogger() });
    ${script}`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', source], {
    cwd: ROOT,
    env: { ...process.env, J_DIR: dir, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { child, exited, stderr: () => stderr };
}

async function fileSize(): Promise<number> {
  return (await stat(join(dir, 'journal.jsonl'))).size;
}

describe('Journal', () => {
  it('keeps appended batches across a reopen and drains them in order, then truncates', async () => {
    const first = await openJournal();
    await first.append([journalEntry(1), journalEntry(2)]);
    await first.append([journalEntry(3)]);
    expect(first.entries).toBe(3);
    expect(first.bytes).toBe(await fileSize());
    // No drain, no truncation: the next process finds what an abrupt exit left.
    const second = await reopenJournal();
    expect(second.entries).toBe(3);
    expect(second.bytes).toBe(first.bytes);

    const seen: JournalEntry[] = [];
    expect(
      await second.drain(async (entries) => {
        seen.push(...entries);
        await Promise.resolve();
      }),
    ).toBe(3);
    expect(seen).toEqual([journalEntry(1), journalEntry(2), journalEntry(3)]);
    expect(second.entries).toBe(0);
    expect(second.bytes).toBe(0);
    expect(await fileSize()).toBe(0);
    expect((await reopenJournal()).entries).toBe(0);
  });

  it('creates a missing directory', async () => {
    const nested = join(dir, 'a', 'b');
    const journal = await Journal.open({ dir: nested, maxBytes: 1024, logger: silentLogger() });
    opened.push(journal);
    await journal.append([journalEntry(1)]);
    expect((await stat(join(nested, 'journal.jsonl'))).size).toBe(journal.bytes);
  });

  it('drains entries appended while the drain runs, behind the earlier ones', async () => {
    const journal = await openJournal();
    await journal.append([journalEntry(1), journalEntry(2)]);
    const seen: number[] = [];
    const handled = await journal.drain(
      async ([entry]) => {
        seen.push(seqOf(entry!));
        if (seqOf(entry!) === 1) await journal.append([journalEntry(3)]);
        if (seqOf(entry!) === 3) void journal.append([journalEntry(4)]); // still in flight when the pass ends
        await new Promise((resolve) => setTimeout(resolve, 5));
      },
      { maxEntries: 1 },
    );
    expect(seen).toEqual([1, 2, 3, 4]);
    expect(handled).toBe(4);
    expect(journal.entries).toBe(0);
  });

  it('drops a torn last line with a warning, and later appends stay readable', async () => {
    const first = await openJournal();
    await first.append([journalEntry(1), journalEntry(2)]);
    const intact = first.bytes;
    await appendFile(join(dir, 'journal.jsonl'), JSON.stringify(journalEntry(3)).slice(0, 40));

    const logs = captureLogs();
    const second = await reopenJournal({ logger: logs.logger });
    expect(second.entries).toBe(2);
    expect(second.bytes).toBe(intact);
    expect(await fileSize()).toBe(intact);
    expect(logs.lines.find((line) => line.msg.includes('torn line'))).toMatchObject({ level: 40, bytes: 40 });

    await second.append([journalEntry(4)]);
    expect(await drainAll(await reopenJournal())).toEqual([1, 2, 4]);
  });

  it('skips a corrupted line in the middle with a warning and drains the rest', async () => {
    const journal = await openJournal();
    await journal.append([journalEntry(1)]);
    await appendFile(join(dir, 'journal.jsonl'), '{"not":"an entry"}\n');
    const logs = captureLogs();
    const reopened = await reopenJournal({ logger: logs.logger });
    await reopened.append([journalEntry(2)]);
    expect(reopened.entries).toBe(2);
    expect(await drainAll(reopened)).toEqual([1, 2]);
    expect(logs.lines.filter((line) => line.msg.includes('corrupted journal line'))).toHaveLength(2);
  });

  it('refuses an append past max_bytes with BRIDGE_ERR_JOURNAL_FULL and writes nothing of that batch', async () => {
    const oneLine = Buffer.byteLength(`${JSON.stringify(journalEntry(1))}\n`);
    const journal = await openJournal({ maxBytes: oneLine * 3 + 10 });
    await journal.append([journalEntry(1), journalEntry(2)]);
    const before = journal.bytes;

    const err: unknown = await journal.append([journalEntry(3), journalEntry(4)]).catch((e: unknown) => e);
    expect(isBridgeError(err, 'BRIDGE_ERR_JOURNAL_FULL')).toBe(true);
    const message = (err as Error).message;
    expect(message).toContain(dir);
    expect(message).toContain(`${before} bytes`);
    expect(message).toMatch(/Restore Redis .* raise journal\.max_bytes/);
    expect(journal.bytes).toBe(before);
    expect(journal.entries).toBe(2);
    expect(await fileSize()).toBe(before);

    await journal.append([journalEntry(3)]); // what still fits is accepted
    expect(await drainAll(await reopenJournal())).toEqual([1, 2, 3]);
  });

  it('hands entries over in batches of DRAIN_BATCH_ENTRIES, in order', async () => {
    const journal = await openJournal({ maxBytes: 4 * 1024 * 1024 });
    const total = 2 * DRAIN_BATCH_ENTRIES + 7;
    await journal.append(range(1, total).map((n) => journalEntry(n)));
    const batches: number[][] = [];
    expect(
      await journal.drain(async (entries) => {
        batches.push(entries.map(seqOf));
        await Promise.resolve();
      }),
    ).toBe(total);
    expect(batches.map((batch) => batch.length)).toEqual([DRAIN_BATCH_ENTRIES, DRAIN_BATCH_ENTRIES, 7]);
    expect(batches.flat()).toEqual(range(1, total));
    expect(journal.entries).toBe(0);
  });

  it('ends a batch before it would pass maxBytes; an entry larger than maxBytes goes alone', async () => {
    const journal = await openJournal();
    const big = (n: number): JournalEntry => ({
      ...journalEntry(n),
      frame: { ...journalEntry(n).frame, d: 'x'.repeat(300) },
    });
    await journal.append([
      journalEntry(1),
      journalEntry(2),
      big(3),
      journalEntry(4),
      journalEntry(5),
      journalEntry(6),
    ]);
    const oneLine = Buffer.byteLength(`${JSON.stringify(journalEntry(1))}\n`);
    const batches: number[][] = [];
    await journal.drain(
      async (entries) => {
        batches.push(entries.map(seqOf));
        await Promise.resolve();
      },
      { maxBytes: oneLine * 2 + 1 },
    );
    expect(batches).toEqual([[1, 2], [3], [4, 5], [6]]);
  });

  it('stops at the first failing batch, keeps it and the rest, and a new process drains them in order', async () => {
    const journal = await openJournal();
    await journal.append(range(1, 10).map((n) => journalEntry(n)));
    const firstRun: number[] = [];
    const handled = await journal.drain(
      async (entries) => {
        if (entries.some((entry) => seqOf(entry) === 5)) throw new Error('redis went away');
        firstRun.push(...entries.map(seqOf));
        await Promise.resolve();
      },
      { maxEntries: 3 },
    );
    expect(handled).toBe(3);
    expect(firstRun).toEqual([1, 2, 3]);
    expect(journal.entries).toBe(7);

    // As if the process died right after the failure. The failed batch [4, 5, 6] is not skipped.
    const next = await reopenJournal();
    expect(next.entries).toBe(7);
    expect(await drainAll(next)).toEqual(range(4, 10));
    expect(next.entries).toBe(0);
  });

  it('records progress only after a batch was handled: a process killed while one is in flight drains it again', async () => {
    const journal = await openJournal();
    await journal.append(range(1, 50).map((n) => journalEntry(n)));
    await journal.close();
    opened.length = 0;

    const inFlightPath = join(dir, 'in-flight.txt');
    // Batches of 10; the fourth (31–40) never finishes, as if Redis had not answered yet when the process died.
    const { child, exited, stderr } = spawnJournalChild(
      `
      await journal.drain(async (entries) => {
        if (entries[0].frame.s !== 31) return;
        writeFileSync(process.env.J_IN_FLIGHT, entries.map((entry) => entry.frame.s).join(','));
        setInterval(() => undefined, 1000);
        await new Promise(() => undefined);
      }, { maxEntries: 10 });`,
      { J_IN_FLIGHT: inFlightPath },
    );
    const deadline = Date.now() + 20_000;
    while ((await readFile(inFlightPath, 'utf8').catch(() => '')) === '') {
      if (child.exitCode !== null || Date.now() > deadline)
        throw new Error(`drain child did not reach the batch: ${stderr()}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    child.kill('SIGKILL');
    await exited;
    expect(await readFile(inFlightPath, 'utf8')).toBe(range(31, 40).join(','));

    const next = await openJournal();
    expect(next.entries).toBe(20);
    expect(await drainAll(next)).toEqual(range(31, 50));
  });

  it('loses nothing when the process is SIGKILLed mid-drain: the next one resumes from the last recorded batch', async () => {
    const total = 200;
    const batchSize = 10;
    const journal = await openJournal();
    await journal.append(range(1, total).map((n) => journalEntry(n)));
    await journal.close();
    opened.length = 0;

    const seenPath = join(dir, 'seen.txt');
    await writeFile(seenPath, '');
    const { child, exited, stderr } = spawnJournalChild(
      `
      await journal.drain(async (entries) => {
        for (const entry of entries) {
          appendFileSync(process.env.J_SEEN, entry.frame.s + '\\n');
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
      }, { maxEntries: ${batchSize} });`,
      { J_SEEN: seenPath },
    );
    const readSeen = async (): Promise<number[]> =>
      (await readFile(seenPath, 'utf8')).split('\n').filter(Boolean).map(Number);
    const deadline = Date.now() + 20_000;
    while ((await readSeen()).length < 50) {
      if (child.exitCode !== null || Date.now() > deadline)
        throw new Error(`drain child did not progress: ${stderr()}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    child.kill('SIGKILL');
    await exited;

    const firstRun = await readSeen();
    const last = firstRun.at(-1)!;
    expect(last).toBeLessThan(total);
    expect(firstRun).toEqual(range(1, last));

    const next = await openJournal();
    const secondRun = await drainAll(next);
    // At most the batch in flight at the kill is delivered again; nothing is skipped.
    expect((secondRun[0]! - 1) % batchSize).toBe(0);
    expect(secondRun[0]).toBeGreaterThan(last - batchSize);
    expect(secondRun[0]).toBeLessThanOrEqual(last + 1);
    expect(secondRun).toEqual(range(secondRun[0]!, total));
    expect(next.entries).toBe(0);
  });

  it('re-delivers from the start rather than skip anything when the cursor file is unreadable', async () => {
    const journal = await openJournal();
    await journal.append(range(1, 4).map((n) => journalEntry(n)));
    await journal.drain(
      async ([entry]) => {
        if (seqOf(entry!) === 3) throw new Error('stop here');
        await Promise.resolve();
      },
      { maxEntries: 1 },
    );
    await writeFile(join(dir, 'journal.cursor'), 'garbage');
    const logs = captureLogs();
    const reopened = await reopenJournal({ logger: logs.logger });
    expect(logs.lines.some((line) => line.level === 40 && line.msg.includes('cursor'))).toBe(true);
    expect(await drainAll(reopened)).toEqual([1, 2, 3, 4]);
  });

  it('refuses a second drain while one runs', async () => {
    const journal = await openJournal();
    await journal.append([journalEntry(1)]);
    let release: () => void = () => undefined;
    const running = journal.drain(() => new Promise<void>((resolve) => (release = resolve)));
    await expect(journal.drain(() => Promise.resolve())).rejects.toThrow(/already running/);
    await new Promise((resolve) => setTimeout(resolve, 10));
    release();
    expect(await running).toBe(1);
  });
});
