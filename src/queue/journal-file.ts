/**
 * Low-level file pieces of the journal: the data file whose changes are fsynced before they resolve, reading
 * complete lines from a byte range, and the cursor file that records how far a drain got.
 */
import { constants, type FileHandle, open } from 'node:fs/promises';

const NEWLINE = 0x0a;
const READ_CHUNK_BYTES = 1024 * 1024;

/**
 * The journal's data file. Every change a caller is told about — an append, a truncation — has been written and
 * then fdatasync'ed through {@link sync}, the one place this file is synced, before the call resolves: the
 * journal acknowledges an event to the gateway only once it survives power loss, not just `kill -9`.
 */
export class DurableAppendFile {
  /** @param handle - opened with `a+` (O_APPEND); exposed for reading, never for writing around this class */
  constructor(readonly handle: FileHandle) {}

  /**
   * Writes all of `bytes` at the end of the file, then syncs. On any failure the file is cut back to
   * `sizeBefore`, so the next append does not continue a partial line.
   */
  async append(bytes: Buffer, sizeBefore: number): Promise<void> {
    try {
      // O_APPEND: each write lands at the end; the loop only matters if the kernel accepts part of the buffer.
      for (let written = 0; written < bytes.length;) {
        const { bytesWritten } = await this.handle.write(bytes, written, bytes.length - written);
        written += bytesWritten;
      }
      await this.sync();
    } catch (err) {
      await this.handle.truncate(sizeBefore).catch(() => undefined);
      throw err;
    }
  }

  /** Cuts the file to `size` bytes and syncs. */
  async truncate(size: number): Promise<void> {
    await this.handle.truncate(size);
    await this.sync();
  }

  async close(): Promise<void> {
    await this.handle.close();
  }

  /** fdatasync: the data and the file size reach the disk (metadata such as mtime need not). */
  protected async sync(): Promise<void> {
    await this.handle.datasync();
  }
}

/** One complete line (without its `\n`) and the offset just past its `\n`. */
export interface JournalLine {
  text: string;
  start: number;
  end: number;
}

/**
 * Yields every complete line in `[from, to)`. Bytes after the last `\n` are not yielded: the caller compares the
 * last `end` with `to` to find a torn tail. Reads in chunks so a journal of hundreds of MiB is never held whole.
 */
export async function* readLines(handle: FileHandle, from: number, to: number): AsyncGenerator<JournalLine> {
  let carry = Buffer.alloc(0);
  let carryStart = from;
  let position = from;
  while (position < to) {
    const chunk = Buffer.allocUnsafe(Math.min(READ_CHUNK_BYTES, to - position));
    const { bytesRead } = await handle.read(chunk, 0, chunk.length, position);
    if (bytesRead === 0) break; // the file is shorter than `to`; what exists has been read
    position += bytesRead;
    const data =
      carry.length > 0 ? Buffer.concat([carry, chunk.subarray(0, bytesRead)]) : chunk.subarray(0, bytesRead);
    let lineStart = 0;
    for (let i = data.indexOf(NEWLINE); i !== -1; i = data.indexOf(NEWLINE, lineStart)) {
      yield {
        text: data.toString('utf8', lineStart, i),
        start: carryStart + lineStart,
        end: carryStart + i + 1,
      };
      lineStart = i + 1;
    }
    carry = data.subarray(lineStart);
    carryStart += lineStart;
  }
}

/** The byte at `offset`, or undefined past the end. */
export async function byteAt(handle: FileHandle, offset: number): Promise<number | undefined> {
  const buffer = Buffer.alloc(1);
  const { bytesRead } = await handle.read(buffer, 0, 1, offset);
  return bytesRead === 1 ? buffer[0] : undefined;
}

/** Fixed width, so every update overwrites the whole record in one small positional write. */
const CURSOR_WIDTH = 20;

/**
 * The offset of the first journal byte not yet handled by a drain. Advancing it is not fsynced: after a power
 * loss it can only be older than the truth, which re-delivers entries (harmless: enqueue is idempotent). Resetting
 * it to 0 IS fsynced, before the journal is truncated — otherwise a stale, larger cursor could survive next to a
 * new journal and skip events that were never enqueued.
 */
export class CursorFile {
  private constructor(private readonly handle: FileHandle) {}

  static async open(path: string): Promise<CursorFile> {
    return new CursorFile(await open(path, constants.O_RDWR | constants.O_CREAT, 0o644));
  }

  /** The recorded offset; 0 when the file is new; undefined when its content is not a number. */
  async read(): Promise<number | undefined> {
    const buffer = Buffer.alloc(CURSOR_WIDTH + 1);
    const { bytesRead } = await this.handle.read(buffer, 0, buffer.length, 0);
    if (bytesRead === 0) return 0;
    const text = buffer.toString('utf8', 0, bytesRead).trim();
    return /^\d+$/.test(text) ? Number(text) : undefined;
  }

  async write(offset: number, options: { sync?: boolean } = {}): Promise<void> {
    const record = Buffer.from(`${String(offset).padStart(CURSOR_WIDTH, '0')}\n`, 'utf8');
    await this.handle.write(record, 0, record.length, 0);
    if (options.sync) await this.handle.datasync();
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

/**
 * Makes a newly created file's directory entry durable (Linux needs the directory fsynced too). Best effort: some
 * platforms cannot open a directory for fsync, and the journal still works there.
 */
export async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // not supported here; the files themselves are still fsynced
  }
}
