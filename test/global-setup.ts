import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../', import.meta.url));

/**
 * Builds dist/ once, before any test file runs: tests that spawn the CLI (`node dist/cli.js …`) then see the sources
 * they are testing, in a fresh clone too. No test builds by itself — a rebuild while another file spawns the CLI
 * would hand that process half-written files.
 */
export async function setup(): Promise<void> {
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  await run(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: ROOT, timeout: 300_000 });
}
