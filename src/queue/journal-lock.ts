/**
 * One journal directory, one process. Two processes appending to and truncating one journal would lose events,
 * so the journal holds this lock from open to close and a second process refuses to start.
 *
 * The lock is a directory `journal.lock.<generation>` holding the owner record and the holder's Unix socket. It is
 * prepared under a scratch name and renamed into place: a rename onto an existing lock fails, so of two processes
 * claiming the same generation exactly one wins, and a lock in place always names its holder. Taking over a dead
 * holder's lock claims the next generation instead of deleting the dead one first, so two processes that both judge
 * it dead cannot both win (deleting then creating one path could hand it to both).
 *
 * Whether a holder lives: on the same machine, its socket answers (the kernel closes it when the process dies,
 * `kill -9` included, so a restart takes the lock at once), else its pid is checked within our own pid namespace.
 * A holder on another machine (a volume shared across hosts) cannot be checked: it refreshes the record's mtime
 * every `refreshMs`, and its lock is taken over once it has gone `staleMs` without a refresh.
 */
import { mkdir, readFile, rename, rm, utimes, writeFile } from 'node:fs/promises';
import type { Server } from 'node:net';
import { join } from 'node:path';
import { BridgeError, describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { formatDuration } from '../util/duration.js';
import { closeHolderSocket, fitsSocketPath, listenHolderSocket, probeHolderSocket } from './holder-socket.js';
import {
  generationPath,
  listGenerations,
  OWNER_FILE,
  readHolder,
  removeAbandonedScratch,
  removeLockDir,
  scratchPath,
  SOCKET_FILE,
} from './journal-lock-dir.js';
import {
  currentIdentity,
  describeOwner,
  newOwner,
  parseOwner,
  type LockOwner,
  type ProcessIdentity,
} from './journal-lock-owner.js';
import { judge, lockedError, WHAT_TO_DO } from './journal-lock-verdict.js';

/** A holder on another machine is presumed dead after this long without a refresh. */
export const LOCK_STALE_MS = 30_000;
/** How often the holder refreshes its record (and checks that the lock is still its own). */
export const LOCK_REFRESH_MS = 5_000;

/** Looks at the lock before giving up; each extra look follows a lock that changed hands meanwhile. */
const MAX_ATTEMPTS = 8;

/** Ids of the locks this process holds: a record with our pid is ours only if its id is here. */
const heldHere = new Set<string>();

export interface JournalLockOptions {
  dir: string;
  logger: Logger;
  /** Default {@link LOCK_STALE_MS}. */
  staleMs?: number;
  /** Default {@link LOCK_REFRESH_MS}. */
  refreshMs?: number;
  /** Called once when the lock is found lost; the caller must stop using the directory. */
  onLost?: (err: BridgeError) => void;
}

export class JournalLock {
  private timer: NodeJS.Timeout | undefined;
  private lastRefreshAt = Date.now();
  private state: 'held' | 'lost' | 'released' = 'held';

  private constructor(
    private readonly options: JournalLockOptions & { staleMs: number; refreshMs: number },
    private readonly generation: number,
    readonly owner: LockOwner,
    private readonly server: Server | undefined,
  ) {
    heldHere.add(owner.id);
    this.schedule();
  }

  /** Path of the lock directory, for logs and tests. */
  get path(): string {
    return generationPath(this.options.dir, this.generation);
  }

  /**
   * Takes the lock of `dir` (which must exist), taking over the lock of a holder that is gone. Rejects with
   * BRIDGE_ERR_JOURNAL_LOCKED, naming the holder, when another process holds it.
   */
  static async acquire(input: JournalLockOptions): Promise<JournalLock> {
    const options = {
      ...input,
      staleMs: input.staleMs ?? LOCK_STALE_MS,
      refreshMs: input.refreshMs ?? LOCK_REFRESH_MS,
    };
    const { dir, logger } = options;
    const self = await currentIdentity();
    let withSocket = true;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const top = (await listGenerations(dir)).at(-1) ?? 0;
      if (top > 0) {
        const holder = await readHolder(generationPath(dir, top));
        if (!holder) continue; // released meanwhile: look again
        const verdict = await judge(holder, generationPath(dir, top), self, options.staleMs, (id) =>
          heldHere.has(id),
        );
        if (verdict.held) throw lockedError(dir, holder, verdict.reason, self, options.staleMs);
        logger.warn(
          { dir, holder: holder.owner ?? 'unreadable', reason: verdict.reason },
          `taking over the journal lock of a process that is gone (${verdict.reason}); it did not stop cleanly`,
        );
      }
      const claimed = await JournalLock.claim(options, top + 1, self, withSocket);
      if (claimed instanceof JournalLock) {
        await claimed.removeOlder();
        return claimed;
      }
      if (claimed === 'socket-unusable') {
        logger.warn(
          { dir },
          `the journal lock's Unix socket cannot be reached on this filesystem; locking by pid instead, so a ` +
            `crashed holder in another container is taken over only after ${formatDuration(options.staleMs)}`,
        );
        withSocket = false;
      }
    }
    throw new BridgeError(
      'BRIDGE_ERR_JOURNAL_LOCKED',
      `journal directory ${dir} changed hands ${MAX_ATTEMPTS} times while this process tried to lock it: several ` +
        `processes are starting on it. ${WHAT_TO_DO}`,
    );
  }

  /**
   * Prepares generation `generation` under a scratch name and renames it into place. `taken` when another process
   * won it; `socket-unusable` when the socket did not answer at its place (a filesystem without working sockets),
   * so the lock must do without: others would otherwise take a live holder for dead.
   */
  private static async claim(
    options: JournalLockOptions & { staleMs: number; refreshMs: number },
    generation: number,
    self: ProcessIdentity,
    withSocket: boolean,
  ): Promise<JournalLock | 'taken' | 'socket-unusable'> {
    const { dir } = options;
    const scratch = scratchPath(dir);
    await mkdir(scratch);
    // Listening before the rename: a lock in place that says it has a socket always answers while its holder lives.
    const socketPath = join(scratch, SOCKET_FILE);
    const server =
      withSocket && fitsSocketPath(socketPath) ? await listenHolderSocket(socketPath) : undefined;
    const owner = newOwner(self, server !== undefined);
    try {
      await writeFile(join(scratch, OWNER_FILE), `${JSON.stringify(owner)}\n`, { flag: 'wx' });
      await rename(scratch, generationPath(dir, generation));
    } catch (err) {
      await closeHolderSocket(server);
      await rm(scratch, { recursive: true, force: true });
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' || code === 'ENOTEMPTY') return 'taken';
      throw err;
    }
    const lock = new JournalLock(options, generation, owner, server);
    if (server && (await probeHolderSocket(join(lock.path, SOCKET_FILE))) !== 'listening') {
      await lock.release();
      return 'socket-unusable';
    }
    // A claim from a listing that a concurrent takeover had already outdated: the higher generation wins.
    if ((await listGenerations(dir)).some((g) => g > generation)) {
      await lock.release();
      return 'taken';
    }
    return lock;
  }

  /** Removes the locks of earlier holders (all gone: this one was claimed over them) and abandoned scratch dirs. */
  private async removeOlder(): Promise<void> {
    const { dir, staleMs } = this.options;
    for (const generation of await listGenerations(dir)) {
      if (generation < this.generation) await removeLockDir(dir, generationPath(dir, generation));
    }
    await removeAbandonedScratch(dir, staleMs);
  }

  /** Gives the lock up: the next process takes it at once. Call after the journal's files are closed. */
  async release(): Promise<void> {
    if (this.state === 'released') return;
    const wasHeld = this.state === 'held';
    this.state = 'released';
    clearTimeout(this.timer);
    heldHere.delete(this.owner.id);
    if (wasHeld) {
      // Only our own record: a lock lost to another process is theirs now.
      const holder = await readHolder(this.path).catch(() => undefined);
      if (holder?.owner?.id === this.owner.id) await removeLockDir(this.options.dir, this.path);
    }
    await closeHolderSocket(this.server);
  }

  private schedule(): void {
    this.timer = setTimeout(() => void this.refresh(), this.options.refreshMs);
    this.timer.unref();
  }

  /** Touches the record, so a process on another machine sees the lock is fresh, and checks it is still ours. */
  private async refresh(): Promise<void> {
    if (this.state !== 'held') return;
    const { dir, staleMs, logger } = this.options;
    const ownerPath = join(this.path, OWNER_FILE);
    try {
      const now = new Date();
      await utimes(ownerPath, now, now);
      const owner = parseOwner(await readFile(ownerPath, 'utf8'));
      if (owner?.id !== this.owner.id) {
        return this.lose(
          `${this.path} now holds another record (${owner ? describeOwner(owner) : 'unreadable'})`,
        );
      }
      const newer = (await listGenerations(dir)).filter((g) => g > this.generation);
      if (newer.length > 0) {
        return this.lose(
          `another process took the lock over (${generationPath(dir, newer.at(-1) ?? 0)}), judging this one gone ` +
            `after ${formatDuration(staleMs)} without a refresh`,
        );
      }
      this.lastRefreshAt = Date.now();
    } catch (err) {
      if (this.state !== 'held') return;
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        return this.lose(`${this.path} vanished (deleted, or the journal directory's volume went away)`);
      }
      const failingMs = Date.now() - this.lastRefreshAt;
      if (failingMs >= staleMs) {
        return this.lose(
          `it could not be refreshed for ${(failingMs / 1000).toFixed(1)}s (${describeError(err)}), so a process on ` +
            'another machine may have taken it over',
        );
      }
      logger.warn(
        { dir, lock: this.path, err: describeError(err) },
        `could not refresh the journal lock; retrying. Check the disk of ${dir}: after ${formatDuration(staleMs)} ` +
          'without a refresh the lock counts as lost and the gateway stops',
      );
    }
    if (this.state === 'held') this.schedule();
  }

  private lose(reason: string): void {
    if (this.state !== 'held') return;
    this.state = 'lost';
    clearTimeout(this.timer);
    heldHere.delete(this.owner.id);
    void closeHolderSocket(this.server);
    const err = new BridgeError(
      'BRIDGE_ERR_JOURNAL_LOCK_LOST',
      `lost the lock of journal directory ${this.options.dir}: ${reason}. Another process may be using the same ` +
        `journal; this process stops writing to it and exits. ${WHAT_TO_DO}`,
    );
    this.options.logger.error({ dir: this.options.dir, lock: this.path, code: err.code }, err.message);
    this.options.onLost?.(err);
  }
}
