import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

/** A real bridge process (`node dist/cli.js run`) that a chaos test can SIGKILL or SIGTERM. */
export interface BridgeProcess {
  readonly name: string;
  readonly pid: number | undefined;
  /** kill -9: no shutdown code runs. */
  kill9(): Promise<void>;
  /**
   * SIGSTOP: the process keeps its sockets and locks but runs no code, as one starved of CPU on a loaded machine.
   * Answers to requests it sent still arrive; it just never gets to record them.
   */
  freeze(): void;
  /** SIGTERM and wait for the exit code. */
  terminate(): Promise<number | null>;
  readonly exited: Promise<number | null>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** Starts the built CLI with `args`; its output goes to `logFile` for post-mortems. */
export function spawnBridge(name: string, args: string[], logFile: string): BridgeProcess {
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(process.execPath, [CLI, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_ENV: 'production' },
  });
  live.add(child);
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      live.delete(child);
      resolve(code);
    });
  });
  return {
    name,
    pid: child.pid,
    exited,
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
    freeze() {
      child.kill('SIGSTOP');
    },
    async terminate() {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/** `node dist/cli.js config check --config <path>`: its exit code and output (stdout and stderr). */
export function checkConfig(configPath: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, 'config', 'check', '--config', configPath], (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}
