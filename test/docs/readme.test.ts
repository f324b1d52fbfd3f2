/**
 * The README's own instructions, run as written: the "Step by step" shell block and the packed tarball of
 * "Install". Both need dist/, which test/global-setup.ts builds before any test runs (what step 1 does after
 * `npm ci`).
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/demo/redis.js';
import { deletePrefix, freshPrefix } from '../helpers/redis.js';
import { markedShellBlock, replaceEvery, runBash } from './readme-steps.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const INSTALL_LINE = 'npm ci && npm run build\n';

let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'qqwb-readme-'));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** A directory laid out like a clone after step 1: built dist/, node_modules, the files the steps use. */
async function cloneLike(dir: string): Promise<void> {
  await mkdir(join(dir, 'config'), { recursive: true });
  await mkdir(join(dir, 'examples', 'node'), { recursive: true });
  for (const file of ['package.json', 'config/bridge.example.yaml', 'examples/node/receiver.mjs'])
    await copyFile(join(ROOT, file), join(dir, file));
  await symlink(join(ROOT, 'dist'), join(dir, 'dist'));
  await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
}

describe('README "Step by step, with your own config"', () => {
  const prefix = freshPrefix('readme');
  afterAll(() => deletePrefix(prefix));

  it('delivers the pushed event to the sample receiver, which verifies its signature', async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const steps = markedShellBlock(readme, 'steps');
    // Step 1's `npm ci` would reinstall the shared node_modules; its build ran before the suite (test/global-setup.ts).
    expect(steps).toContain(INSTALL_LINE);
    // The README's fixed ports and prefix, swapped for free ones so the test runs beside anything else.
    let script = steps.replace(INSTALL_LINE, '');
    for (const port of ['8080', '8000', '9464'])
      script = replaceEvery(script, new RegExp(`\\b${port}\\b`, 'g'), String(await freePort()));
    script = replaceEvery(script, /\{qqwb-try\}/g, prefix);

    const dir = join(scratch, 'steps');
    await cloneLike(dir);
    const env = { PATH: process.env['PATH'], HOME: process.env['HOME'] };
    const result = await runBash(script, dir, env, 90_000);
    const receiverLog = await readFile(join(dir, 'receiver.log'), 'utf8').catch(() => '');
    const bridgeLog = await readFile(join(dir, 'bridge.log'), 'utf8').catch(() => '');

    expect({ code: result.code, output: result.output, bridgeLog }).toMatchObject({ code: 0 });
    expect(result.output).toContain('config/bridge.yaml: ok');
    expect(result.output).toContain('"status":"ready"');
    // The receiver prints an event only after Webhook.verify accepted its signature and timestamp.
    expect(receiverLog).toMatch(
      /^event GROUP_ADD_ROBOT:\S+ group\.bot\.added C9F778FE6ADF9D1D1DBE395BF744A33A$/m,
    );
    expect(receiverLog).not.toContain('rejected');
    expect(bridgeLog).toContain('stopped cleanly');
  }, 120_000);
});

describe('README "Install": the packed tarball', () => {
  it('holds what the installed command needs, and runs', async () => {
    const dir = join(scratch, 'pack');
    await mkdir(dir, { recursive: true });
    // --ignore-scripts: prepack's build would rewrite dist/ while other test files run the CLI from it.
    const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], {
      cwd: ROOT,
      timeout: 60_000,
    });
    const [packed] = JSON.parse(stdout) as [{ filename: string; files: { path: string }[] }];
    const files = packed.files.map((file) => file.path);
    const manifest = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
      version: string;
      bin: Record<string, string>;
    };
    const bin = manifest.bin['qq-webhook-bridge'] ?? '';
    expect(files).toEqual(
      expect.arrayContaining(['package.json', bin, 'dist/version.js', 'config/bridge.example.yaml']),
    );
    expect(files).toContain('schema/config.schema.json');
    // The example only: a user's own config/bridge.yaml (the steps above write one) must never be packed.
    expect(files.filter((path) => path.startsWith('config/'))).toEqual(['config/bridge.example.yaml']);

    // Unpacked beside this repository's node_modules (the registry would supply the same dependencies).
    await run('tar', ['-xzf', packed.filename], { cwd: dir });
    await symlink(join(ROOT, 'node_modules'), join(dir, 'package', 'node_modules'));
    const cli = join(dir, 'package', bin);
    expect((await readFile(cli, 'utf8')).startsWith('#!/usr/bin/env node\n')).toBe(true);
    const version = await run(process.execPath, [cli, '--version'], { timeout: 30_000 });
    expect(version.stdout.trim()).toBe(manifest.version);
  }, 90_000);
});
