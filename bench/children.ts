/**
 * Every process the benchmark starts goes through here, so that none outlives it: on a normal end, on an error,
 * on Ctrl-C, and (for forked children, which watch their IPC channel) even when the benchmark itself is killed.
 */
import { fork, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

const live = new Set<ChildProcess>();

function track(child: ChildProcess): ChildProcess {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** `import.meta.resolve` of tsx's loader, so children run TypeScript whatever the working directory. */
const TSX_LOADER = import.meta.resolve('tsx');

/**
 * Forks a TypeScript entry of bench/ (run through tsx) with an IPC channel. The entry exits by itself when the
 * channel closes, which covers a benchmark that died without cleaning up. Its stderr is the bench's.
 */
export function forkBenchEntry(entry: string): ChildProcess {
  return track(
    fork(new URL(entry, import.meta.url), [], {
      execArgv: ['--import', TSX_LOADER],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    }),
  );
}

/** Spawns any command, tracked like {@link forkBenchEntry}; give it an `ipc` stdio slot to make it watch the bench. */
export function spawnTracked(command: string, args: readonly string[], options: SpawnOptions): ChildProcess {
  return track(spawn(command, [...args], options));
}

/** Resolves with the exit code (or the signal's name) once `child` has exited; at once if it already has. */
export function exited(child: ChildProcess): Promise<number | string | null> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve(child.exitCode ?? child.signalCode);
  }
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
}

/** Sends `signal`, waits up to `graceMs` for the exit, then SIGKILLs. Resolves with the exit code or signal. */
export async function stopChild(
  child: ChildProcess,
  graceMs: number,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<number | string | null> {
  const done = exited(child);
  if (!live.has(child)) return done;
  child.kill(signal);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), graceMs);
  });
  const first = await Promise.race([done, late]);
  clearTimeout(timer);
  if (first !== 'late') return first;
  child.kill('SIGKILL');
  return done;
}

/** SIGKILLs every child still running; safe to call any number of times. */
export function killAll(): void {
  for (const child of live) child.kill('SIGKILL');
  live.clear();
}

process.once('exit', killAll);
