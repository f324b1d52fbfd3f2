import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe('dependency install scripts', () => {
  it('every dependency with an install script has an allowScripts decision in package.json', async () => {
    // `npm ci` warns about each package listed here; the decision (and its reason) belongs in package.json and the
    // README's Tests section.
    const { stdout } = await run('npm', ['install-scripts', 'ls', '--json'], { timeout: 60_000 });
    const listed = JSON.parse(stdout) as { allowScripts: unknown[] };
    expect(listed.allowScripts).toEqual([]);
  });
});
