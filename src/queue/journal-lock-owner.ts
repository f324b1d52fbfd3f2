/**
 * Who holds a journal lock, and whether that process still runs. The record is written with the lock; a process
 * that finds a lock reads it to name the holder in its refusal and to tell a live holder from a crashed one.
 */
import { randomBytes } from 'node:crypto';
import { readFile, readlink } from 'node:fs/promises';
import { hostname } from 'node:os';

/** The identity of a process as far as a lock needs it. The optional fields are Linux-only (/proc). */
export interface ProcessIdentity {
  pid: number;
  hostname: string;
  /** The running kernel's boot id: equal on the same machine (containers included), new after every boot. */
  bootId?: string;
  /** The pid namespace (`pid:[4026531836]`): within one, a pid names one process; containers each have their own. */
  pidNamespace?: string;
  /** Start time in clock ticks since boot (/proc/<pid>/stat field 22): tells a reused pid from the holder. */
  startTicks?: number;
}

/** The record inside a held lock. */
export interface LockOwner extends ProcessIdentity {
  /** Random, one per acquisition: tells this lock from a later one by the same process. */
  id: string;
  /** ISO time the lock was taken. */
  since: string;
  /** True when the holder listens on the lock's socket while it holds the lock (see journal-lock.ts). */
  socket: boolean;
}

async function readTrimmed(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

/** Field 22 of /proc/<pid>/stat; the process name (field 2) may hold spaces and parentheses, so split after it. */
export async function startTicksOf(pid: number | 'self'): Promise<number | undefined> {
  const stat = await readTrimmed(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[19]);
  return Number.isSafeInteger(ticks) ? ticks : undefined;
}

export async function currentIdentity(): Promise<ProcessIdentity> {
  const [bootId, pidNamespace, startTicks] = await Promise.all([
    readTrimmed('/proc/sys/kernel/random/boot_id'),
    readlink('/proc/self/ns/pid').catch(() => undefined),
    startTicksOf('self'),
  ]);
  return {
    pid: process.pid,
    hostname: hostname(),
    ...(bootId ? { bootId } : {}),
    ...(pidNamespace ? { pidNamespace } : {}),
    ...(startTicks !== undefined ? { startTicks } : {}),
  };
}

export function newOwner(identity: ProcessIdentity, socket: boolean): LockOwner {
  return { ...identity, id: randomBytes(8).toString('hex'), since: new Date().toISOString(), socket };
}

/** The record, or undefined when the text is not one (a damaged file is judged by its age instead). */
export function parseOwner(text: string): LockOwner | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v['pid'] !== 'number' || typeof v['hostname'] !== 'string' || typeof v['id'] !== 'string') {
    return undefined;
  }
  if (typeof v['since'] !== 'string') return undefined;
  return {
    pid: v['pid'],
    hostname: v['hostname'],
    id: v['id'],
    since: v['since'],
    socket: v['socket'] === true,
    ...(typeof v['bootId'] === 'string' ? { bootId: v['bootId'] } : {}),
    ...(typeof v['pidNamespace'] === 'string' ? { pidNamespace: v['pidNamespace'] } : {}),
    ...(typeof v['startTicks'] === 'number' ? { startTicks: v['startTicks'] } : {}),
  };
}

/** "pid 42 on host gw-1 since 2026-01-01T00:00:00.000Z", for refusals and logs. */
export function describeOwner(owner: LockOwner): string {
  return `pid ${owner.pid} on host ${owner.hostname} since ${owner.since}`;
}

/**
 * Same running kernel: by boot id where both have one (two containers on one host share it; hostnames may differ
 * or repeat), else by host name. Only then can the holder's socket or pid be checked from here.
 */
export function sameMachine(owner: ProcessIdentity, self: ProcessIdentity): boolean {
  if (owner.bootId !== undefined && self.bootId !== undefined) return owner.bootId === self.bootId;
  return owner.bootId === undefined && self.bootId === undefined && owner.hostname === self.hostname;
}

/**
 * Whether the holder's pid still names the holder, when the holder ran in our own pid namespace (else a pid means
 * nothing here: `unknown`). `heldHere` says whether this process holds the lock with that id: the recorded pid
 * being ours otherwise means a predecessor had it (`predecessor`) — a container restarted, its process given the
 * same pid again. `reused`: the pid runs, but started at another time than the holder.
 */
export async function pidVerdict(
  owner: LockOwner,
  self: ProcessIdentity,
  heldHere: (id: string) => boolean,
): Promise<'alive' | 'dead' | 'predecessor' | 'reused' | 'unknown'> {
  if (!sameMachine(owner, self) || owner.pidNamespace !== self.pidNamespace) return 'unknown';
  if (owner.pid === self.pid) return heldHere(owner.id) ? 'alive' : 'predecessor';
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return 'dead';
    // EPERM: the process exists, under another user
  }
  if (owner.startTicks === undefined) return 'alive';
  const ticks = await startTicksOf(owner.pid);
  if (ticks === undefined) return 'dead'; // exited between the two checks
  return ticks === owner.startTicks ? 'alive' : 'reused';
}
