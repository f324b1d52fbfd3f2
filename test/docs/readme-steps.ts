import { spawn } from 'node:child_process';

/** The shell block of a README section between `<!-- <name>:begin -->` and `<!-- <name>:end -->`. */
export function markedShellBlock(readme: string, name: string): string {
  const begin = readme.indexOf(`<!-- ${name}:begin -->`);
  const end = readme.indexOf(`<!-- ${name}:end -->`);
  if (begin < 0 || end < begin) throw new Error(`README.md has no <!-- ${name}:begin/end --> markers`);
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(begin, end));
  if (!block?.[1]) throw new Error(`no \`\`\`sh block between the ${name} markers`);
  return block[1];
}

/** `text` with every match of `pattern` (global) replaced by `to`; throws when nothing matches. */
export function replaceEvery(text: string, pattern: RegExp, to: string): string {
  if (text.match(pattern) === null) throw new Error(`expected ${String(pattern)} in the steps`);
  return text.replace(pattern, to);
}

export interface ScriptResult {
  readonly code: number | null;
  readonly output: string;
}

/**
 * Runs `script` with `bash -e` in `cwd`, in a process group of its own so that whatever it started in the
 * background is ended with it when it outlives `timeoutMs`.
 */
export function runBash(
  script: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<ScriptResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-e', '-c', script], {
      cwd,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const timer = setTimeout(() => killGroup(child.pid), timeoutMs);
    let code: number | null = null;
    child.once('error', reject);
    child.once('exit', (exitCode) => {
      clearTimeout(timer);
      code = exitCode;
      // Background jobs a failed step left running would hold the output pipes open.
      killGroup(child.pid);
    });
    child.once('close', () => resolve({ code, output }));
  });
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // the group is already gone
  }
}
