/**
 * The curl walkthrough of docs/webhook-mode.md, run as written: each command of its fenced block in bash from the
 * repository root, against the built CLI (`npm run build` first), real Redis and the example Node receiver. Only
 * the ports, the Redis prefix and the directory are replaced, so tests can run side by side. Background commands
 * (` &`) are waited for as a reader would: until they print that they are up.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { deletePrefix, freshPrefix, REDIS_URL } from '../helpers/redis.js';
import { substitute, walkthroughBlock, walkthroughSteps, type WalkthroughStep } from './walkthrough-steps.js';
import { freePort } from '../../src/demo/redis.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DOC = join(ROOT, 'docs/webhook-mode.md');
const STEP_TIMEOUT_MS = 20_000;

/** What each background command prints once it is up; a reader waits for the same. */
const READY: readonly { command: RegExp; ready: RegExp }[] = [
  { command: /dist\/cli\.js simulate /, ready: /QQ simulator listening in webhook mode/ },
  { command: /examples\/node\/receiver\.mjs/, ready: /listening on http:\/\// },
  { command: /dist\/cli\.js run /, ready: /"msg":"bridge started"/ },
];

/** A background command of the walkthrough, with everything it printed so far. */
interface Running {
  readonly step: WalkthroughStep;
  readonly child: ChildProcess;
  output: string;
  readonly exited: Promise<number | null>;
}

const running: Running[] = [];
const prefix = freshPrefix('walkthrough');
const dir = mkdtempSync(join(tmpdir(), 'qqwb-walkthrough-'));

afterAll(async () => {
  for (const r of running) {
    if (r.child.exitCode === null && r.child.signalCode === null) process.kill(-r.child.pid!, 'SIGKILL');
  }
  await Promise.all(running.map((r) => r.exited));
  await deletePrefix(prefix);
  rmSync(dir, { recursive: true, force: true });
});

/** Runs a foreground command to its end; resolves with its exit code and output, never rejects. */
function runToEnd(command: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('bash', ['-c', command], { cwd: ROOT, timeout: STEP_TIMEOUT_MS }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Resolves once `r` printed a line matching `pattern`; rejects if it exits first or after STEP_TIMEOUT_MS. */
function printed(r: Running, pattern: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (!pattern.test(r.output)) return;
      cleanup();
      resolve();
    };
    const failed = (why: string) => (): void => {
      cleanup();
      reject(new Error(`"${r.step.command}" ${why} before printing ${pattern}; it printed:\n${r.output}`));
    };
    const onExit = failed('exited');
    const timer = setTimeout(failed(`ran ${STEP_TIMEOUT_MS} ms`), STEP_TIMEOUT_MS);
    const cleanup = (): void => {
      clearTimeout(timer);
      r.child.stdout?.off('data', check);
      r.child.stderr?.off('data', check);
      r.child.off('exit', onExit);
    };
    r.child.stdout?.on('data', check);
    r.child.stderr?.on('data', check);
    r.child.once('exit', onExit);
    check();
  });
}

/** Starts a background command in its own process group (bash and what it runs), and waits until it is up. */
async function startInBackground(step: WalkthroughStep): Promise<Running> {
  const ready = READY.find((entry) => entry.command.test(step.command))?.ready;
  if (!ready) throw new Error(`no readiness line known for the background command "${step.command}"`);
  const child = spawn('bash', ['-c', step.command], { cwd: ROOT, detached: true });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const r: Running = { step, child, output: '', exited };
  const append = (chunk: Buffer): void => {
    r.output += chunk.toString('utf8');
  };
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  running.push(r);
  await printed(r, ready);
  return r;
}

function find(pattern: RegExp): Running {
  const r = running.find((entry) => pattern.test(entry.step.command));
  if (!r) throw new Error(`the walkthrough started no ${pattern}`);
  return r;
}

/**
 * Checks the curl answer (the callback acknowledged by the bridge) and waits, as the reader does before stopping
 * everything, until the receiver printed the event; resolves with its id. The receiver prints an event only after
 * its standardwebhooks verification passed (else "rejected …").
 */
async function deliveredTo(receiver: Running, curlOutput: string, callbackUrl: string): Promise<string> {
  const answer = JSON.parse(curlOutput) as { id: string };
  expect(answer).toEqual({
    id: expect.stringMatching(/^GROUP_ADD_ROBOT:[0-9a-f-]{36}$/),
    callback: { url: callbackUrl, acked: true, attempts: 1, status: 200 },
  });
  await printed(receiver, new RegExp(`event ${answer.id} group\\.bot\\.added G\n`));
  expect(receiver.output).not.toContain('rejected');
  return answer.id;
}

describe('docs/webhook-mode.md curl walkthrough', () => {
  it(
    'runs as written: the event reaches the receiver, which verified its signature',
    { timeout: 120_000 },
    async () => {
      expect(existsSync(join(ROOT, 'dist/cli.js')), 'run `npm run build` first').toBe(true);
      const [simPort, bridgePort, receiverPort] = [await freePort(), await freePort(), await freePort()];
      const block = substitute(
        walkthroughBlock(DOC),
        new Map([
          ['8080', String(simPort)],
          ['9464', String(bridgePort)],
          ['8000', String(receiverPort)],
          ['/tmp/qqwb-webhook-try', dir],
          ["'{qqwb-webhook-try}'", `'${prefix}'`],
          ['redis://127.0.0.1:6379', REDIS_URL],
        ]),
      );
      const callbackUrl = `http://127.0.0.1:${bridgePort}/qq/callback`;
      const outputs: { command: string; stdout: string }[] = [];
      let eventId = '';
      for (const step of walkthroughSteps(block)) {
        if (step.background) {
          await startInBackground(step);
        } else if (step.command.startsWith('kill ')) {
          // The reader's shell numbers its jobs 1, 2, 3 in start order: the same processes, stopped the same way.
          expect(step.command).toBe(`kill ${running.map((_, i) => `%${i + 1}`).join(' ')}`);
          for (const r of running) process.kill(-r.child.pid!, 'SIGTERM');
        } else {
          const result = await runToEnd(step.command);
          expect(result, `"${step.command}" failed`).toMatchObject({ code: 0 });
          outputs.push({ command: step.command, stdout: result.stdout });
          if (step.command.startsWith('curl ')) {
            eventId = await deliveredTo(find(/receiver\.mjs/), result.stdout, callbackUrl);
          }
        }
      }
      expect(eventId).not.toBe('');

      const check = outputs.find((o) => o.command.includes(' config check '))?.stdout ?? '';
      expect(check).toContain(`  mode       webhook (QQ POSTs signed callbacks;`);
      expect(check).toContain(`  callback   POST /qq/callback on server.listen 127.0.0.1:${bridgePort}  `);
      expect(check).toContain('  warnings   none');

      const simulator = find(/ simulate /);
      const bridge = find(/ run /);
      expect(await simulator.exited).toBe(0);
      expect(await bridge.exited).toBe(0);
      // Started before the bridge, the simulator's op 13 at start failed; the emit validated again, then delivered.
      expect(simulator.output).toContain(
        'callback URL validation (op 13) failed; it is tried again on the next emit',
      );
      expect(simulator.output).toContain('"msg":"callback URL validated (op 13)"');
      expect(simulator.output).toContain('"msg":"callback acknowledged (op 12)"');
      expect(bridge.output).toContain('"msg":"callback URL validation (op 13) answered"');
    },
  );
});
