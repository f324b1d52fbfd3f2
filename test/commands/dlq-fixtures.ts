import { PassThrough } from 'node:stream';
import { Command } from 'commander';
import { registerDlqCommands } from '../../src/commands/dlq.js';

/** What one in-process `dlq` command did. */
export interface DlqRun {
  stdout: string;
  stderr: string;
  exitCode: number | undefined;
  /** What the command threw; the CLI turns it into a message and an exit code. */
  error: unknown;
}

/**
 * Runs `qq-webhook-bridge dlq <args> --config <configFile>` in this process, through the same commander
 * registration the CLI uses. `answer` is typed at the confirmation question once it appears on stderr;
 * `interactive` says whether stdin counts as a terminal.
 */
export async function runDlq(
  configFile: string,
  args: string[],
  options: { interactive?: boolean; answer?: string } = {},
): Promise<DlqRun> {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: string[] = [];
  const err: string[] = [];
  let unanswered = options.answer;
  stdout.on('data', (chunk: Buffer) => out.push(chunk.toString('utf8')));
  stderr.on('data', (chunk: Buffer) => {
    err.push(chunk.toString('utf8'));
    if (unanswered !== undefined && err.join('').includes('[y/N]')) {
      stdin.write(`${unanswered}\n`);
      unanswered = undefined;
    }
  });
  let exitCode: number | undefined;
  const program = new Command('qq-webhook-bridge').exitOverride();
  registerDlqCommands(
    program,
    (code) => {
      exitCode = code;
    },
    { stdin, stdout, stderr, interactive: options.interactive ?? false },
  );
  let error: unknown;
  try {
    await program.parseAsync(['dlq', ...args, '--config', configFile], { from: 'user' });
  } catch (caught) {
    error = caught;
  }
  return { stdout: out.join(''), stderr: err.join(''), exitCode, error };
}
