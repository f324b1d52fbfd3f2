import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** How long a signalled process may take to exit before it counts as hung; a deadline, not a measurement. */
const EXIT_DEADLINE_MS = 10_000;

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()!();
});

/** A loopback port nothing listens on: bound once to learn a free number, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** A config whose Redis (and QQ) point at a closed port, so `run` waits for Redis forever. */
async function configWaitingForRedis(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'qqwb-run-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const port = await closedPort();
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
      `  dir: ${join(dir, 'journal')}`,
      '',
    ].join('\n'),
  );
  return file;
}

interface LogLine {
  level: number;
  msg: string;
}

describe('qq-webhook-bridge run: a shutdown signal while the start waits for Redis', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    'exits 0 on the first %s and logs that it stopped waiting for Redis',
    async (signal) => {
      const config = await configWaitingForRedis();
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'run', '--config', config], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, NODE_ENV: 'production' },
      });
      cleanups.push(() => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      });
      const lines: LogLine[] = [];
      let stderr = '';
      let pending = '';
      let onLine: (() => void) | undefined;
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        pending += chunk;
        const complete = pending.split('\n');
        pending = complete.pop() ?? '';
        for (const text of complete) if (text.trim() !== '') lines.push(JSON.parse(text) as LogLine);
        onLine?.();
      });
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
        // 'close', not 'exit': it comes after the child's stdout has been read to its end, so no line is missed.
        child.once('close', (code, exitSignal) => resolve({ code, signal: exitSignal }));
      });

      // tsx compiles on the fly: starting can take a while on a busy machine.
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no "waiting for Redis" line; stdout: ${JSON.stringify(lines)} ${stderr}`)),
          20_000,
        );
        onLine = () => {
          if (lines.some((line) => line.msg.includes('still waiting — start Redis or fix redis.url'))) {
            clearTimeout(timer);
            resolve();
          }
        };
        onLine();
      });

      child.kill(signal);
      let deadline: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        exited,
        new Promise<'hung'>((resolve) => {
          deadline = setTimeout(() => resolve('hung'), EXIT_DEADLINE_MS);
        }),
      ]);
      clearTimeout(deadline);

      expect(outcome, `still running ${EXIT_DEADLINE_MS} ms after ${signal}`).toEqual({
        code: 0,
        signal: null,
      });
      const messages = lines.map((line) => line.msg);
      expect(messages).toContain(
        'start interrupted while waiting for Redis: shutting down without having connected',
      );
      expect(messages).toContain('shutdown signal during start: start interrupted while waiting for Redis');
      // Contained, not last: under load the signal handler's own line can reach stdout after the others.
      expect(messages, JSON.stringify(messages)).toContain('stopped cleanly');
      // one signal was enough: the forced-exit path never ran
      expect(messages).not.toContain('second signal: exiting without waiting');
    },
  );
});
