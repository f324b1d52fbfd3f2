import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DurableAppendFile } from '../../src/queue/journal-file.js';
import { tempDir, waitUntil } from './journal-fixtures.js';

/**
 * Power loss cannot be staged in a test, and a SIGKILLed process proves nothing here: the page cache survives it.
 * What a test can check is the contract the journal relies on: every change goes through `sync()` (fdatasync),
 * after the bytes are written and before the call resolves. This subclass records each sync and what the file
 * held at that moment, and can hold the sync back or make it fail; it still really syncs.
 */
class ObservedFile extends DurableAppendFile {
  readonly syncs: { size: number }[] = [];
  /** While set, syncs wait for it. */
  hold: Promise<void> | undefined;
  /** When set, syncs fail with it instead of syncing (a disk error). */
  failure: Error | undefined;

  protected override async sync(): Promise<void> {
    this.syncs.push({ size: (await this.handle.stat()).size });
    await this.hold;
    if (this.failure) throw this.failure;
    await super.sync();
  }
}

let dir: string;
let removeDir: () => Promise<void>;
const files: ObservedFile[] = [];

beforeEach(async () => {
  ({ path: dir, remove: removeDir } = await tempDir('journal-file'));
});

afterEach(async () => {
  for (const file of files.splice(0)) await file.close().catch(() => undefined);
  await removeDir();
});

async function openObserved(): Promise<ObservedFile> {
  const file = new ObservedFile(await open(join(dir, 'journal.jsonl'), 'a+'));
  files.push(file);
  return file;
}

describe('DurableAppendFile', () => {
  it('resolves an append only after syncing it, once all its bytes are written', async () => {
    const file = await openObserved();
    await file.append(Buffer.from('first\n'), 0);
    expect(file.syncs).toEqual([{ size: 6 }]);

    let release: () => void = () => undefined;
    file.hold = new Promise((resolve) => (release = resolve));
    let resolved = false;
    const appended = file.append(Buffer.from('second line\n'), 6).then(() => (resolved = true));
    await waitUntil(() => file.syncs.length === 2, 'the second append to sync');
    expect(file.syncs[1]).toEqual({ size: 18 });
    expect(resolved).toBe(false); // the sync is still held back, so the append has not been acknowledged
    release();
    await appended;
    expect(await readFile(join(dir, 'journal.jsonl'), 'utf8')).toBe('first\nsecond line\n');
  });

  it('rejects an append whose sync fails and cuts the file back to its size before it', async () => {
    const file = await openObserved();
    await file.append(Buffer.from('kept\n'), 0);
    file.failure = new Error('EIO: i/o error, fdatasync');
    await expect(file.append(Buffer.from('lost\n'), 5)).rejects.toThrow('EIO');
    expect(file.syncs).toEqual([{ size: 5 }, { size: 10 }]);
    expect(await readFile(join(dir, 'journal.jsonl'), 'utf8')).toBe('kept\n');
  });

  it('syncs a truncation before resolving', async () => {
    const file = await openObserved();
    await file.append(Buffer.from('one\ntwo\n'), 0);
    await file.truncate(4);
    expect(file.syncs).toEqual([{ size: 8 }, { size: 4 }]);
    expect(await readFile(join(dir, 'journal.jsonl'), 'utf8')).toBe('one\n');
  });
});
