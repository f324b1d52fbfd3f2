/**
 * Whether the holder of a journal lock still holds it (see journal-lock.ts), and the refusal that names it.
 */
import { join } from 'node:path';
import { BridgeError } from '../errors.js';
import { formatDuration } from '../util/duration.js';
import { probeHolderSocket } from './holder-socket.js';
import { SOCKET_FILE, type FoundHolder } from './journal-lock-dir.js';
import { describeOwner, pidVerdict, sameMachine, type ProcessIdentity } from './journal-lock-owner.js';

export const WHAT_TO_DO =
  'A journal directory belongs to one process: give each gateway its own journal.dir (with docker compose, its ' +
  'own volume: do not --scale the gateway service on one volume; add a second service with its own volume).';

/** Whether the holder of a lock in place still holds it, and why we think so. */
export async function judge(
  holder: FoundHolder,
  path: string,
  self: ProcessIdentity,
  staleMs: number,
  heldHere: (id: string) => boolean,
): Promise<{ held: boolean; reason: string }> {
  const { owner, ageMs } = holder;
  if (owner && sameMachine(owner, self)) {
    if (owner.socket) {
      const probe = await probeHolderSocket(join(path, SOCKET_FILE));
      if (probe === 'listening') return { held: true, reason: 'it is running on this machine' };
      if (probe === 'gone') return { held: false, reason: 'nothing listens on its lock socket any more' };
    }
    const pid = await pidVerdict(owner, self, heldHere);
    if (pid === 'alive') return { held: true, reason: 'its pid is running on this machine' };
    if (pid === 'dead') return { held: false, reason: 'its pid no longer runs' };
    if (pid === 'reused') return { held: false, reason: 'its pid now names a process started later' };
    if (pid === 'predecessor') {
      return { held: false, reason: 'it had the pid this process has now (the same container, restarted)' };
    }
  }
  const age = `${(Math.max(0, ageMs) / 1000).toFixed(1)}s`;
  if (ageMs > staleMs) return { held: false, reason: `not refreshed for ${age}` };
  const where = !owner
    ? 'its owner record is unreadable'
    : sameMachine(owner, self)
      ? 'it runs on this machine but in another pid namespace'
      : 'it runs on another machine';
  return { held: true, reason: `${where}; last refreshed ${age} ago` };
}

export function lockedError(
  dir: string,
  holder: FoundHolder,
  reason: string,
  self: ProcessIdentity,
  staleMs: number,
): BridgeError {
  const who = holder.owner ? describeOwner(holder.owner) : 'a process whose owner record is unreadable';
  const elsewhere = !holder.owner || !sameMachine(holder.owner, self);
  return new BridgeError(
    'BRIDGE_ERR_JOURNAL_LOCKED',
    `journal directory ${dir} is in use by ${who} (${reason}); not starting. ${WHAT_TO_DO}` +
      (elsewhere
        ? ` If that process is gone, its lock is taken over once it has gone ${formatDuration(staleMs)} without ` +
          'a refresh.'
        : ''),
  );
}
