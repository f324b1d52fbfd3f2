/**
 * `node dist/cli.js run` as a real process for the start-up tests: a config whose Redis (and QQ) is a closed
 * loopback port, so the start waits for Redis until stopped, and the process's output kept line by line.
 * Needs `npm run build`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
/** How long a process may take to log a line or to exit before it counts as hung; a deadline, not a measurement. */
export const DEADLINE_MS = 20_000;

/**
 * A config file with Redis and QQ on `port` (closed), the server on a free port (plus `extra.server` under
 * `server:`, and `extra.log` as `log:`), a journal in a temporary directory.
 */
export function configWaitingForRedis(
  port: number,
  cleanups: (() => void)[],
  extra: { server?: readonly string[]; log?: readonly string[] } = {},
): { file: string; journalDir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'qqwb-startup-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const journalDir = join(dir, 'journal');
  const file = join(dir, 'bridge.yaml');
  writeFileSync(
    file,
    [
      'qq:',
      '  app_id: "102000000"',
      '  client_secret: simulator-secret',
      `  token_url: http://127.0.0.1:${port}/app/getAppAccessToken`,
      `  api_base: http://127.0.0.1:${port}`,
      'redis:',
      `  url: redis://127.0.0.1:${port}`,
      'server:',
      '  listen: 127.0.0.1:0',
      ...(extra.server ?? []).map((line) => `  ${line}`),
      'journal:',
      `  dir: ${journalDir}`,
      ...(extra.log ? ['log:', ...extra.log.map((line) => `  ${line}`)] : []),
      '',
    ].join('\n'),
  );
  return { file, journalDir };
}

export interface RunProcess {
  readonly pid: number | undefined;
  /** Every line written to stdout and to stderr, raw, in arrival order per stream. */
  readonly stdout: string[];
  readonly stderr: string[];
  /** Resolves once some stdout line, raw, contains `text`. */
  text(text: string): Promise<void>;
  /** Resolves with the first stdout line that parses as JSON and satisfies `match`. */
  line(match: (record: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  kill(signal: NodeJS.Signals): void;
  /** Exit code and signal, after the output has been read to its end. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function parsed(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Splits a stream's chunks into complete lines, pushed onto `into`. */
function collectLines(stream: NodeJS.ReadableStream, into: string[], onLine: () => void): void {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    pending += chunk;
    const complete = pending.split('\n');
    pending = complete.pop() ?? '';
    for (const text of complete) if (text.trim() !== '') into.push(text);
    onLine();
  });
  stream.on('end', () => {
    if (pending.trim() !== '') into.push(pending);
    onLine();
  });
}

/** Starts `node dist/cli.js run …args`; `cleanups` SIGKILLs it if the test ends first. */
export function startRun(args: string[], cleanups: (() => void)[]): RunProcess {
  const child = spawn(process.execPath, [CLI, 'run', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_ENV: 'production' },
  });
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  const waiters = new Set<() => void>();
  const wake = (): void => {
    for (const waiter of waiters) waiter();
  };
  collectLines(child.stdout, stdout, wake);
  collectLines(child.stderr, stderr, wake);
  // 'close', not 'exit': it comes after the output has been read to its end, so no line is missed.
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  let ended = false;
  void exited.then(() => {
    ended = true;
    wake();
  });
  /** Resolves with what `find` finds in the output so far or later; rejects at the deadline or at exit. */
  function waitFor<T>(find: () => T | undefined): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => finish('not found in time'), DEADLINE_MS);
      const finish = (why: string, found?: T): void => {
        clearTimeout(timer);
        waiters.delete(check);
        if (found !== undefined) resolve(found);
        else reject(new Error(`${why}: stdout ${stdout.join('\n')} stderr ${stderr.join('\n')}`));
      };
      const check = (): void => {
        const found = find();
        if (found !== undefined) finish('found', found);
        else if (ended) finish('exited without it');
      };
      waiters.add(check);
      check();
    });
  }
  return {
    pid: child.pid,
    stdout,
    stderr,
    exited,
    kill: (signal) => child.kill(signal),
    text: async (text) => {
      await waitFor(() => stdout.find((line) => line.includes(text)));
    },
    line: (match) =>
      waitFor(() => stdout.map(parsed).find((record) => record !== undefined && match(record))),
  };
}

/** Lines of `lines` that are not a JSON object. */
export function notJson(lines: readonly string[]): string[] {
  return lines.filter((text) => parsed(text) === undefined);
}

/** Races `promise` against `deadlineMs` (default {@link DEADLINE_MS}): `'hung'` when the deadline comes first. */
export async function withinDeadline<T>(promise: Promise<T>, deadlineMs = DEADLINE_MS): Promise<T | 'hung'> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'hung'>((resolve) => {
    timer = setTimeout(() => resolve('hung'), deadlineMs);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
