/**
 * The `dlq` commands' usage and Redis errors as an operator meets them: the built CLI (`node dist/cli.js`, run
 * `npm run build` first) spawned as a process, its exit code and stderr. None of these reaches a queue.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshPrefix, REDIS_URL } from '../helpers/redis.js';
import { freePort } from '../../src/demo/redis.js';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(...args: string[]): Promise<Run> {
  return promisify(execFile)(process.execPath, [CLI, 'dlq', ...args], { timeout: 30_000 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (err: Run) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }),
  );
}

let dir: string;
/** Targets `backend` and `billing`, Redis the test Redis. */
let reachable: string;
/** The same, Redis at a port nothing listens on. */
let unreachable: string;
let deadPort: number;

function configYaml(redisUrl: string): string {
  return [
    'qq: { app_id: "102000000", client_secret: test-secret }',
    `redis: { url: "${redisUrl}", prefix: "${freshPrefix()}" }`,
    `journal: { dir: "${join(dir, 'journal')}" }`,
    'targets:',
    '  - { id: backend, url: "http://127.0.0.1:9/hook", secret: s1, allow_private: true }',
    '  - { id: billing, url: "http://127.0.0.1:9/hook", secret: s2, allow_private: true }',
  ].join('\n');
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qqwb-dlq-cli-'));
  deadPort = await freePort();
  reachable = join(dir, 'reachable.yaml');
  unreachable = join(dir, 'unreachable.yaml');
  await writeFile(reachable, configYaml(REDIS_URL));
  await writeFile(unreachable, configYaml(`redis://127.0.0.1:${deadPort}`));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('dlq usage errors', () => {
  it('purge without a selector names exactly the selectors purge takes, and exits 2', async () => {
    expect(await cli('purge', '--target', 'backend', '--config', reachable)).toEqual({
      code: 2,
      stdout: '',
      stderr: 'error: say which entries: --id EVENT_ID, --all or --older-than DURATION\n',
    });
    expect(await cli('purge', '--outbound', '--config', reachable)).toMatchObject({
      code: 2,
      stderr: 'error: say which entries: --id OUTBOUND_ID, --all or --older-than DURATION\n',
    });
  });

  it('replay without a selector names --id and --all only: it takes no --older-than', async () => {
    expect(await cli('replay', '--target', 'backend', '--config', reachable)).toEqual({
      code: 2,
      stdout: '',
      stderr: 'error: say which entries: --id EVENT_ID or --all\n',
    });
  });

  it('an unknown --target is a usage error listing the configured targets, before Redis is asked', async () => {
    for (const config of [reachable, unreachable]) {
      expect(await cli('list', '--target', 'backnd', '--config', config)).toEqual({
        code: 2,
        stdout: '',
        stderr: `error: unknown target "backnd" in ${config}; configured targets: backend, billing\n`,
      });
    }
    expect(await cli('purge', '--target', 'nope', '--all', '--yes', '--config', reachable)).toMatchObject({
      code: 2,
      stderr: `error: unknown target "nope" in ${reachable}; configured targets: backend, billing\n`,
    });
  });
});

describe('dlq numeric options', () => {
  it('a --limit that is not a positive integer is a usage error naming the option, before Redis is asked', async () => {
    for (const limit of ['abc', '0', '-3', '1.5', '']) {
      const run = await cli('list', '--target', 'backend', '--limit', limit, '--config', unreachable);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain("option '--limit <n>' argument");
      expect(run.stderr).toMatch(/expected a (positive|non-negative) integer/);
    }
  });
});

describe('dlq with Redis unreachable', () => {
  it('prints one line with the address, the cause and what to fix, and exits 1', async () => {
    const expected =
      `error: Redis 127.0.0.1:${deadPort} unreachable: connect ECONNREFUSED 127.0.0.1:${deadPort} — ` +
      `start Redis or fix redis.url in ${unreachable}\n`;
    for (const args of [
      ['list', '--target', 'backend'],
      ['show', '--target', 'backend', '--id', 'GROUP_ADD_ROBOT:x'],
      ['purge', '--outbound', '--all', '--yes'],
    ]) {
      expect(await cli(...args, '--config', unreachable)).toEqual({ code: 1, stdout: '', stderr: expected });
    }
  });
});

describe('dlq replay --help', () => {
  it('says a replay keeps the webhook-id, so a deduping receiver ignores ids it recorded, and what it is for', async () => {
    const help = (await cli('replay', '--help')).stdout.replace(/\s+/g, ' ');
    expect(help).toContain(
      'a replayed delivery carries the webhook-id it had before, so a receiver that dedupes on webhook-id ' +
        '(as it should) ignores it if it recorded that id.',
    );
    expect(help).toContain(
      'dead letters, once the receiver is fixed: they were never acknowledged (no 2xx), so its dedupe store ' +
        'has not seen them, unless the receiver recorded the id before it failed;',
    );
    expect(help).toContain('a receiver that lost data: clear the lost ids from its dedupe store first;');
  });
});
