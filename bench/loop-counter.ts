/**
 * The bench's side of bench/loop-probe.ts: the node flags and environment that load the probe into a pipe
 * process, and a reader that asks it (SIGUSR2) for its event-loop iteration count at one instant and waits for
 * the answer. Both pipes load the same probe the same way, so their figures compare.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { LoopProbeLine } from './loop-probe.js';
import { sleep } from './time.js';
import { plainJavaScript } from './transpile.js';

const PROBE_ENV = 'QQWB_BENCH_LOOP_PROBE';
/** How long a reading may take: the pipe answers in its next loop turn, ms at most when idle. */
const ANSWER_TIMEOUT_MS = 2_000;

/** What a pipe process needs to carry the probe. */
export interface LoopProbeSetup {
  nodeArgs: string[];
  env: Record<string, string>;
  /** Where the probe writes its lines. */
  file: string;
}

/** Transpiles the probe into `workDir` (again for each pipe: cheap, and no state to share) and names its file. */
export function loopProbeSetup(workDir: string, name: string): LoopProbeSetup {
  const module = join(workDir, 'loop-probe.mjs');
  writeFileSync(module, plainJavaScript(new URL('./loop-probe.ts', import.meta.url)));
  const file = join(workDir, `${name}-loop.jsonl`);
  writeFileSync(file, ''); // a pipe started again under the same name starts a fresh file
  return { nodeArgs: ['--import', pathToFileURL(module).href], env: { [PROBE_ENV]: file }, file };
}

export interface LoopReading {
  /** Event-loop iterations since the process started. */
  loopCount: number;
  /** Events the loop processed since the process started. */
  events: number;
  /** The process's own user + system CPU seconds (`process.cpuUsage()`), to cross-check /proc. */
  cpuSec: number;
}

/** The lines `pid` wrote (a process the pipe started with the same flags would write its own). */
function linesOf(file: string, pid: number): LoopProbeLine[] {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as LoopProbeLine)
      .filter((line) => line.pid === pid);
  } catch {
    return [];
  }
}

/**
 * One reading now; undefined when the probe is not loaded in `pid` (then no signal is sent: SIGUSR2 would end a
 * process without the probe's handler), when the process is gone, or when it does not answer in time.
 */
export async function readLoop(file: string, pid: number): Promise<LoopReading | undefined> {
  const before = linesOf(file, pid);
  if (before[0]?.loaded !== true) return undefined;
  try {
    process.kill(pid, 'SIGUSR2');
  } catch {
    return undefined;
  }
  const deadline = performance.now() + ANSWER_TIMEOUT_MS;
  while (performance.now() < deadline) {
    const lines = linesOf(file, pid);
    const answer = lines.length > before.length ? lines.at(-1) : undefined;
    if (answer?.loopCount !== undefined) {
      return {
        loopCount: answer.loopCount,
        events: answer.events ?? NaN,
        cpuSec: ((answer.cpuUserUs ?? NaN) + (answer.cpuSystemUs ?? NaN)) / 1e6,
      };
    }
    await sleep(1);
  }
  return undefined;
}
