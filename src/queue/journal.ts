/**
 * The local spill for events that could not be enqueued while Redis was away (docs/design.md §5). An append-only file
 * of JSON lines plus a cursor file; appends are fsynced before they resolve, so an event the gateway counted as
 * durable survives `kill -9` and power loss alike.
 */
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { BridgeError } from '../errors.js';
import type { Logger } from '../log.js';
import { encodeJournalEntries, parseJournalEntry, type JournalEntry } from './journal-entry.js';
import { byteAt, CursorFile, DurableAppendFile, readLines, syncDirectory } from './journal-file.js';
import { JournalLock } from './journal-lock.js';

export type { JournalEntry } from './journal-entry.js';

const JOURNAL_FILE = 'journal.jsonl';
const CURSOR_FILE = 'journal.cursor';
const NEWLINE = 0x0a;

/**
 * Most entries a drain hands its handler at once. The sink enqueues a batch with one `addBulk` per target — one
 * pipelined round trip — so a drain moves events at about the speed of the direct path instead of one per round
 * trip; 500 keeps a batch well inside the enqueue timeout.
 */
export const DRAIN_BATCH_ENTRIES = 500;
/** Most journal bytes in one drain batch (an entry larger than this goes alone), so large events stay bounded. */
export const DRAIN_BATCH_BYTES = 1024 * 1024;

/** Batch bounds of {@link Journal.drain}; a batch ends at whichever is reached first. */
export interface DrainOptions {
  /** Default {@link DRAIN_BATCH_ENTRIES}. */
  maxEntries?: number;
  /** Default {@link DRAIN_BATCH_BYTES}. */
  maxBytes?: number;
}

export interface JournalOptions {
  /** Directory of the journal; created when missing. Locked while open: one process per directory. */
  dir: string;
  /** Largest size of the journal file in bytes; an append that would pass it is refused. */
  maxBytes: number;
  logger: Logger;
  /**
   * Called once if the directory's lock is found lost while open (see {@link JournalLock}); the journal then
   * refuses every write, and the process should stop.
   */
  onLockLost?: (err: BridgeError) => void;
  /** Lock timing (tests); defaults in journal-lock.ts. */
  lock?: { staleMs?: number; refreshMs?: number };
}

function mebibytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

/**
 * Append-only journal of {@link JournalEntry}s. Appends and the final truncation are serialized; a drain reads
 * only bytes whose append has completed, so appends may continue while it runs.
 */
export class Journal {
  /** Appends and truncation run one at a time, in call order, so the file never interleaves two writers. */
  private tail: Promise<void> = Promise.resolve();
  private draining = false;
  private closed = false;
  /** Set when the directory's lock was lost: another process may own the files now, so nothing is written. */
  private lockLost: BridgeError | undefined;

  private constructor(
    private readonly options: JournalOptions,
    private readonly lock: JournalLock,
    private readonly file: DurableAppendFile,
    private readonly cursorFile: CursorFile,
    /** Size of the file: every byte before it belongs to a completed append. */
    private size: number,
    /** Offset of the first entry a drain has not handled yet. */
    private cursor: number,
    /** Entries after the cursor. */
    private pending: number,
  ) {}

  /**
   * Locks `dir` (created when missing), then opens (or creates) the journal in it and reads what a previous
   * process left. Rejects with BRIDGE_ERR_JOURNAL_LOCKED, naming the holder, while another process has it open.
   * A torn last line — a crash in the middle of an append, whose caller was therefore never told the event was
   * durable — is cut off with a warning; a corrupted line elsewhere is skipped with a warning. Neither stops the
   * process.
   */
  static async open(options: JournalOptions): Promise<Journal> {
    await mkdir(options.dir, { recursive: true });
    let journal: Journal | undefined;
    let lostWhileOpening: BridgeError | undefined;
    const lock = await JournalLock.acquire({
      dir: options.dir,
      logger: options.logger,
      ...options.lock,
      onLost: (err) => {
        if (journal) journal.refuseWrites(err);
        else lostWhileOpening = err;
        options.onLockLost?.(err);
      },
    });
    let file: DurableAppendFile | undefined;
    let cursorFile: CursorFile | undefined;
    try {
      file = new DurableAppendFile(await open(join(options.dir, JOURNAL_FILE), 'a+'));
      cursorFile = await CursorFile.open(join(options.dir, CURSOR_FILE));
      await syncDirectory(options.dir);
      journal = await Journal.recover(options, lock, file, cursorFile);
      if (lostWhileOpening) journal.refuseWrites(lostWhileOpening);
      return journal;
    } catch (err) {
      await cursorFile?.close().catch(() => undefined);
      await file?.close().catch(() => undefined);
      await lock.release().catch(() => undefined);
      throw err;
    }
  }

  /** Reads the state a previous process left: where its drain stopped, how many entries follow, a torn tail. */
  private static async recover(
    options: JournalOptions,
    lock: JournalLock,
    file: DurableAppendFile,
    cursorFile: CursorFile,
  ): Promise<Journal> {
    const log = options.logger;
    const { handle } = file;
    let { size } = await handle.stat();
    let cursor = (await cursorFile.read()) ?? -1;
    const atLineStart =
      cursor === 0 || (cursor > 0 && cursor <= size && (await byteAt(handle, cursor - 1)) === NEWLINE);
    if (!atLineStart) {
      // Re-delivering from the start is safe (enqueue is idempotent); trusting a wrong cursor could skip events.
      log.warn(
        { dir: options.dir, cursor, size },
        'journal cursor is unreadable or out of range; draining from the start',
      );
      cursor = 0;
    }

    let pending = 0;
    let end = cursor;
    for await (const line of readLines(handle, cursor, size)) {
      if (parseJournalEntry(line.text)) pending += 1;
      else log.warn({ dir: options.dir, offset: line.start }, 'skipping a corrupted journal line');
      end = line.end;
    }
    if (end < size) {
      // Cut off, not just skipped: the next append would otherwise continue the torn line and be unreadable too.
      log.warn(
        { dir: options.dir, offset: end, bytes: size - end },
        'journal ends with a torn line (the process died while appending it); dropping it — it was never acknowledged, so the gateway will receive it again',
      );
      await file.truncate(end);
      size = end;
    }

    const journal = new Journal(options, lock, file, cursorFile, size, cursor, pending);
    if (pending === 0 && size > 0) await journal.reset(); // a drain finished but died before truncating
    if (pending > 0) {
      log.info(
        { dir: options.dir, events: pending, bytes: size },
        'journal holds events from a previous run',
      );
    }
    return journal;
  }

  /** Entries not yet handled by a drain (the `qqwb_journal_events` metric). */
  get entries(): number {
    return this.pending;
  }

  /** Size of the journal file in bytes — what `journal.max_bytes` limits (handled entries count until truncation). */
  get bytes(): number {
    return this.size;
  }

  /**
   * Appends a batch with one write and one fsync; resolves once it is on disk. Rejects with
   * `BRIDGE_ERR_JOURNAL_FULL` when the file would pass `maxBytes`; on any failure nothing of the batch remains.
   */
  append(entries: readonly JournalEntry[]): Promise<void> {
    if (entries.length === 0) return Promise.resolve();
    // Encode before queueing: an entry that cannot be serialized fails here, before anything is written.
    const buffer = encodeJournalEntries(entries);
    return this.serial(async () => {
      if (this.closed) throw new Error(`journal at ${this.options.dir} is closed`);
      this.assertLocked();
      const { maxBytes, dir } = this.options;
      if (this.size + buffer.length > maxBytes) {
        throw new BridgeError(
          'BRIDGE_ERR_JOURNAL_FULL',
          `journal at ${dir} is full: it holds ${this.size} bytes (${mebibytes(this.size)}, ${this.pending} events) and ` +
            `${entries.length} more event(s) of ${buffer.length} bytes would pass journal.max_bytes (${maxBytes} bytes, ` +
            `${mebibytes(maxBytes)}). Restore Redis so the journal drains, or raise journal.max_bytes.`,
        );
      }
      await this.file.append(buffer, this.size);
      this.size += buffer.length;
      this.pending += entries.length;
    });
  }

  /**
   * Hands every entry to `handler`, in order and in batches (see {@link DrainOptions}), including entries appended
   * while the drain runs. The first rejection stops the drain: that batch and everything after it stay, and the
   * drain resolves with the count handled so far (compare {@link entries} with 0 to know whether it finished).
   * Progress is recorded once per batch, only after the handler resolved, so a crash re-delivers at most the
   * batch in flight — never skips it. When everything is handled the journal is truncated. Rejects only on a
   * journal I/O error, or when another drain is running.
   */
  async drain(
    handler: (entries: readonly JournalEntry[]) => Promise<void>,
    options: DrainOptions = {},
  ): Promise<number> {
    if (this.draining) throw new Error(`a drain of the journal at ${this.options.dir} is already running`);
    const maxEntries = Math.max(1, options.maxEntries ?? DRAIN_BATCH_ENTRIES);
    const maxBytes = Math.max(1, options.maxBytes ?? DRAIN_BATCH_BYTES);
    this.draining = true;
    let handled = 0;
    let batch: JournalEntry[] = [];
    let batchBytes = 0;
    /** Offset just past the last line taken into the batch (corrupted lines included: they are skipped). */
    let batchEnd = this.cursor;
    /** Hands the batch over and records the progress; false when the handler rejected. */
    const flush = async (): Promise<boolean> => {
      if (batch.length > 0) {
        try {
          await handler(batch);
        } catch {
          return false;
        }
        handled += batch.length;
        this.pending -= batch.length;
      }
      this.assertLocked();
      this.cursor = batchEnd;
      await this.cursorFile.write(this.cursor);
      batch = [];
      batchBytes = 0;
      return true;
    };
    try {
      for (;;) {
        const end = this.size;
        for await (const line of readLines(this.file.handle, this.cursor, end)) {
          const entry = parseJournalEntry(line.text);
          const bytes = line.end - line.start;
          if (entry && batch.length > 0 && batchBytes + bytes > maxBytes && !(await flush())) return handled;
          if (entry) {
            batch.push(entry);
            batchBytes += bytes;
          } else {
            this.options.logger.warn(
              { dir: this.options.dir, offset: line.start },
              'skipping a corrupted journal line',
            );
          }
          batchEnd = line.end;
          if (batch.length >= maxEntries && !(await flush())) return handled;
        }
        if (batchEnd > this.cursor && !(await flush())) return handled;
        // Truncate only if no append completed meanwhile; the check and the truncation exclude appends.
        const finished = await this.serial(async () => {
          if (this.cursor < this.size) return false;
          await this.reset();
          return true;
        });
        if (finished) return handled;
      }
    } finally {
      this.draining = false;
    }
  }

  /**
   * Waits for queued appends, then closes the files and releases the directory's lock, so the next process can
   * open it at once. Entries stay on disk for it.
   */
  async close(): Promise<void> {
    await this.serial(async () => {
      if (this.closed) return;
      this.closed = true;
      try {
        await this.file.close();
        await this.cursorFile.close();
      } finally {
        await this.lock.release();
      }
    });
  }

  /** Called by the lock's `onLost`: from now on every write is refused. */
  private refuseWrites(err: BridgeError): void {
    this.lockLost ??= err;
  }

  private assertLocked(): void {
    if (this.lockLost) throw this.lockLost;
  }

  /** Empties the journal. The cursor goes to 0 durably first: see {@link CursorFile}. */
  private async reset(): Promise<void> {
    this.assertLocked();
    await this.cursorFile.write(0, { sync: true });
    await this.file.truncate(0);
    this.size = 0;
    this.cursor = 0;
    this.pending = 0;
  }

  private serial<T>(op: () => Promise<T>): Promise<T> {
    const run = this.tail.then(op);
    this.tail = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }
}
