import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** How long a process may take to start or exit before it counts as hung; a deadline, not a measurement. */
const DEADLINE_MS = 20_000;

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()!();
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/**
 * One config for every process of a test: the same journal directory, and Redis on a closed port, so `run` opens
 * its journal and then waits for Redis until it is stopped.
 */
async function sharedConfig(): Promise<{ file: string; journalDir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'qqwb-run-lock-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const port = await closedPort();
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
      'journal:',
      `  dir: ${journalDir}`,
      '',
    ].join('\n'),
  );
  return { file, journalDir };
}

interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** `run --role gateway` as a real process, with its log lines parsed as they arrive. */
function runGateway(config: string) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli.ts', 'run', '--role', 'gateway', '--config', config],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_ENV: 'production' } },
  );
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const lines: LogLine[] = [];
  let stderr = '';
  let pending = '';
  const waiters: (() => void)[] = [];
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    const complete = pending.split('\n');
    pending = complete.pop() ?? '';
    for (const text of complete) if (text.trim() !== '') lines.push(JSON.parse(text) as LogLine);
    for (const wake of waiters) wake();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  // 'close', not 'exit': it comes after the output has been read to its end.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return {
    child,
    lines,
    stderr: () => stderr,
    exited,
    /** Resolves once it logged a line whose message contains `msg` (after its journal is open: "still waiting"). */
    logged(msg: string): Promise<void> {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no "${msg}" line: ${JSON.stringify(lines)} ${stderr}`)),
          DEADLINE_MS,
        );
        const check = (): void => {
          if (lines.some((line) => line.msg.includes(msg))) {
            clearTimeout(timer);
            resolve();
          }
        };
        waiters.push(check);
        void exited.then(() => {
          clearTimeout(timer);
          reject(new Error(`exited before "${msg}": ${JSON.stringify(lines)} ${stderr}`));
        });
        check();
      });
    },
  };
}

describe('qq-webhook-bridge run --role gateway: one journal directory, one process', () => {
  it('refuses a second gateway on the same journal.dir, then starts after the first stopped or was killed', async () => {
    const { file, journalDir } = await sharedConfig();
    const first = runGateway(file);
    await first.logged('still waiting');

    const second = runGateway(file);
    expect(await second.exited).toBe(1);
    // A fatal log record (the logger exists by then), not a plain line on stderr.
    const refused = second.lines.find((line) => line.code === 'BRIDGE_ERR_JOURNAL_LOCKED');
    expect(refused).toMatchObject({ level: 60 });
    expect(refused!.msg).toContain(`journal directory ${journalDir} is in use by pid ${first.child.pid}`);
    expect(refused!.msg).toMatch(/give each gateway its own journal\.dir/);

    // kill -9: the next start takes the lock over at once, on the socket, not by waiting for staleness.
    first.child.kill('SIGKILL');
    await first.exited;
    const third = runGateway(file);
    await third.logged('still waiting');
    const takeover = third.lines.find((line) => line.msg.startsWith('taking over the journal lock'));
    expect(takeover).toMatchObject({
      component: 'journal',
      reason: 'nothing listens on its lock socket any more',
      holder: { pid: first.child.pid },
    });

    // A clean stop releases the lock: nothing is left behind, and the next start takes it without a takeover.
    third.child.kill('SIGTERM');
    expect(await third.exited).toBe(0);
    expect(readdirSync(journalDir).filter((name) => name.startsWith('journal.lock'))).toEqual([]);
    const fourth = runGateway(file);
    await fourth.logged('still waiting');
    expect(fourth.lines.filter((line) => line.msg.startsWith('taking over'))).toEqual([]);
  }, 120_000);

  it('stops with exit code 1 when its lock is lost, even while its start still waits for Redis', async () => {
    const { file, journalDir } = await sharedConfig();
    const gateway = runGateway(file);
    await gateway.logged('still waiting');
    // As if the directory were cleaned by hand, or another machine had taken the lock over.
    for (const name of readdirSync(journalDir).filter((n) => n.startsWith('journal.lock.'))) {
      rmSync(join(journalDir, name), { recursive: true });
    }
    // Noticed at the next refresh (every 5 s); the deadline only bounds a hung process.
    expect(await gateway.exited).toBe(1);
    const lost = gateway.lines.find((line) => line.code === 'BRIDGE_ERR_JOURNAL_LOCK_LOST');
    expect(lost).toMatchObject({ level: 50, component: 'journal', dir: journalDir });
    expect(lost!.msg).toContain(`lost the lock of journal directory ${journalDir}`);
    expect(gateway.lines.some((line) => line.level === 60 && line.msg === lost!.msg)).toBe(true);
  }, 60_000);
});
