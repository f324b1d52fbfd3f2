/**
 * The journal lock on disk (see journal-lock.ts): in the journal directory, `journal.lock.<generation>` directories
 * holding `owner.json` and the holder's socket `sock`, and `journal.lock.t<hex>` scratch directories a lock is
 * prepared in (or moved to before it is deleted).
 */
import { randomBytes } from 'node:crypto';
import { readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseOwner, type LockOwner } from './journal-lock-owner.js';

const GENERATION = /^journal\.lock\.(\d+)$/;
const SCRATCH = /^journal\.lock\.t[0-9a-f]{8}$/;
export const OWNER_FILE = 'owner.json';
export const SOCKET_FILE = 'sock';

/** What a process found in a lock in place. */
export interface FoundHolder {
  /** Undefined when the record is unreadable (damaged by hand, or a disk that lost it). */
  owner: LockOwner | undefined;
  /** Time since the holder's last refresh. */
  ageMs: number;
}

export function generationPath(dir: string, generation: number): string {
  return join(dir, `journal.lock.${generation}`);
}

export function scratchPath(dir: string): string {
  return join(dir, `journal.lock.t${randomBytes(4).toString('hex')}`);
}

export async function listGenerations(dir: string): Promise<number[]> {
  const names = await readdir(dir);
  return names
    .map((name) => GENERATION.exec(name)?.[1])
    .filter((digits): digits is string => digits !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

const isMissing = (err: unknown): boolean => (err as NodeJS.ErrnoException).code === 'ENOENT';

/**
 * The record of a lock in place; undefined when the lock went away meanwhile (its holder released it). A lock
 * directory without a readable record (emptied by hand) is judged by its own age.
 */
export async function readHolder(path: string): Promise<FoundHolder | undefined> {
  try {
    const { mtimeMs } = await stat(join(path, OWNER_FILE));
    const owner = parseOwner(await readFile(join(path, OWNER_FILE), 'utf8'));
    return { owner, ageMs: Date.now() - mtimeMs };
  } catch (err) {
    if (!isMissing(err)) throw err;
  }
  try {
    const { mtimeMs } = await stat(path);
    return { owner: undefined, ageMs: Date.now() - mtimeMs };
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

/** Moves a lock directory out of the way under a scratch name, then deletes it: a lock in place is never half gone. */
export async function removeLockDir(dir: string, path: string): Promise<void> {
  const trash = scratchPath(dir);
  try {
    await rename(path, trash);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  await rm(trash, { recursive: true, force: true });
}

/** Deletes scratch directories older than `staleMs`: left by a process that died while claiming or releasing. */
export async function removeAbandonedScratch(dir: string, staleMs: number): Promise<void> {
  for (const name of await readdir(dir)) {
    if (!SCRATCH.test(name)) continue;
    const path = join(dir, name);
    const age = await stat(path).then(
      ({ mtimeMs }) => Date.now() - mtimeMs,
      () => 0,
    );
    if (age > staleMs) await rm(path, { recursive: true, force: true });
  }
}
