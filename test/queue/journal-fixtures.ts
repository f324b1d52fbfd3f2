import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/log.js';
import type { JournalEntry } from '../../src/queue/journal.js';

/** A GROUP_ADD_ROBOT dispatch with seq `n` and a unique id under `tag`. */
export function journalEntry(n: number, tag = 'j'): JournalEntry {
  return {
    frame: {
      op: 0,
      t: 'GROUP_ADD_ROBOT',
      s: n,
      id: `GROUP_ADD_ROBOT:${tag}-${n}`,
      d: {
        group_openid: 'C9F778FE6ADF9D1D1DBE395BF744A33A',
        op_member_openid: 'E4F4',
        timestamp: 1699240248 + n,
      },
    },
    shard: [0, 1],
    receivedAt: new Date(1_700_000_000_000 + n).toISOString(),
  };
}

export function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

export interface CapturedLogs {
  logger: Logger;
  lines: { level: number; msg: string; [field: string]: unknown }[];
}

/** A real pino logger whose JSON lines are kept in memory, so tests can assert on warnings. */
export function captureLogs(): CapturedLogs {
  const lines: CapturedLogs['lines'] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line));
      callback();
    },
  });
  return { logger: createLogger({ level: 'debug', pretty: false, destination }), lines };
}

/** A fresh directory under os.tmpdir() and its removal. */
export async function tempDir(label: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `qqwb-${label}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** Polls `check` every 10 ms; fails naming `what` after `timeoutMs`. */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
