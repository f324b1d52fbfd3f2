import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { resolve } from 'node:path';

/** `gateway.replica_id: auto` (the default) derives the id with {@link defaultReplicaId}. */
export const AUTO_REPLICA_ID = 'auto';

/** Longest `gateway.replica_id`; it is part of every lease value and log line. */
export const REPLICA_ID_MAX_LENGTH = 100;

/**
 * A replica id names one gateway process in lease values (`<replica id>/<incarnation>:<token>`), so it may hold no
 * `:` (the token separator), no `/` (the incarnation separator) and no whitespace or control characters.
 */
export const REPLICA_ID_PATTERN = /^[^\s:/\p{Cc}]+$/u;

/** What is wrong with a replica id, or undefined if it is fine. */
export function replicaIdProblem(value: string): string | undefined {
  if (value.length === 0) return 'needs at least one character';
  if (value.length > REPLICA_ID_MAX_LENGTH)
    return `is ${value.length} characters long (at most ${REPLICA_ID_MAX_LENGTH})`;
  if (!REPLICA_ID_PATTERN.test(value)) return "holds ':', '/', whitespace or a control character";
  return undefined;
}

/**
 * The `gateway.replica_id` of `auto` (the default): `<host name>-<8 hex digits of the absolute journal.dir>`. Stable across restarts
 * of one process on one host (so a restart takes its crashed run's leases back at once), and different for two
 * processes on one host, which must have different journal directories anyway.
 */
export function defaultReplicaId(journalDir: string, host = hostname()): string {
  const hash = createHash('sha256').update(resolve(journalDir)).digest('hex').slice(0, 8);
  const safeHost = host.replace(/[\s:/\p{Cc}]/gu, '-').slice(0, REPLICA_ID_MAX_LENGTH - 9) || 'gateway';
  return `${safeHost}-${hash}`;
}

/** The replica id a `gateway.replica_id` setting stands for. */
export function resolveReplicaId(setting: string, journalDir: string): string {
  return setting === AUTO_REPLICA_ID ? defaultReplicaId(journalDir) : setting;
}
