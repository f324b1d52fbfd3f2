/**
 * Loaded into a pipe process with `node --import <this file, transpiled>` (bench/loop-counter.ts): on SIGUSR2 it
 * appends one JSON line to the file named by `QQWB_BENCH_LOOP_PROBE`, with libuv's event-loop iteration count
 * (`performance.nodeTiming.uvMetricsInfo`) and `process.cpuUsage()`. It answers on demand only: no timer, so
 * an idle process turns its loop exactly as it would without it. Node builtins only, so it runs without tsx.
 */
import { appendFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { isMainThread } from 'node:worker_threads';

/** One line of the probe's file. The first, written at load, has `loaded: true` and no counters. */
export interface LoopProbeLine {
  pid: number;
  loaded?: true;
  /** Event-loop iterations since the process started. */
  loopCount?: number;
  /** Events (I/O callbacks, timers) the loop has processed since the process started. */
  events?: number;
  cpuUserUs?: number;
  cpuSystemUs?: number;
}

function write(path: string, line: LoopProbeLine): void {
  // Synchronous: the line is on disk before the handler returns, so the bench reads the instant it asked for.
  appendFileSync(path, `${JSON.stringify(line)}\n`);
}

const path = process.env['QQWB_BENCH_LOOP_PROBE'];
// `--import` also runs in worker threads (a pino transport, say), which have loops of their own and get no
// signals: the main thread's loop is the one measured.
if (path && isMainThread) {
  // The bench signals only once this line is there: without the handler SIGUSR2 would end the process.
  write(path, { pid: process.pid, loaded: true });
  process.on('SIGUSR2', () => {
    const { loopCount, events } = performance.nodeTiming.uvMetricsInfo;
    const cpu = process.cpuUsage();
    write(path, { pid: process.pid, loopCount, events, cpuUserUs: cpu.user, cpuSystemUs: cpu.system });
  });
}
