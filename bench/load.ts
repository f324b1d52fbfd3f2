/**
 * The two load shapes. Both are bounded by an event count and a deadline, and stop by themselves.
 *
 * - Closed loop with a window ({@link runWindowed}): keep at most `window` events outstanding (sent, not yet
 *   completed), for max sustained throughput. The window keeps the backlog bounded, so the pipe runs at its own
 *   pace without a flood piling up in its memory, and the rate is measured after a ramp-up.
 * - Open loop ({@link runOpenLoop}): send on a fixed schedule whatever happens downstream, for latency at an
 *   offered rate. A generator that falls behind its schedule is reported (`maxLagMs`), not hidden.
 */
import { nowMs } from './payload.js';
import { sleep, yieldToLoop } from './time.js';

/** Events sent per turn of the event loop at most, so IPC messages and timers still get their turn. */
const BURST = 64;

export interface WindowedOptions {
  /** Sends event `seq`. */
  emit: (seq: number) => void;
  /** Events completed so far in this run (delivered, or enqueued for the backlog phase). */
  completed: () => number;
  window: number;
  durationMs: number;
  maxEvents: number;
  /** Completions during the first `rampMs` are not counted in the rate (connections, JIT, the window filling). */
  rampMs: number;
  firstSeq: number;
}

export interface WindowedResult {
  emitted: number;
  /** Completions per second between the end of the ramp and the end of sending. */
  perSec: number;
  measuredMs: number;
}

export async function runWindowed(options: WindowedOptions): Promise<WindowedResult> {
  const startMs = nowMs();
  const endMs = startMs + options.durationMs;
  let emitted = 0;
  let mark: { atMs: number; completed: number } | undefined;
  for (let now = startMs; now < endMs && emitted < options.maxEvents; now = nowMs()) {
    if (mark === undefined && now >= startMs + options.rampMs)
      mark = { atMs: now, completed: options.completed() };
    const room = Math.min(
      options.window - (emitted - options.completed()),
      BURST,
      options.maxEvents - emitted,
    );
    for (let i = 0; i < room; i++) options.emit(options.firstSeq + emitted++);
    // A full window waits for completions; an open one only lets pending I/O run before sending more.
    await (room >= 1 ? yieldToLoop() : sleep(1));
  }
  const end = { atMs: nowMs(), completed: options.completed() };
  const from = mark ?? { atMs: startMs, completed: 0 };
  const measuredMs = end.atMs - from.atMs;
  return { emitted, perSec: ((end.completed - from.completed) / measuredMs) * 1000, measuredMs };
}

export interface OpenLoopOptions {
  emit: (seq: number) => void;
  ratePerSec: number;
  durationMs: number;
  firstSeq: number;
}

export interface OpenLoopResult {
  emitted: number;
  /** Events actually sent per second, first to last. */
  achievedPerSec: number;
  /** How far behind its schedule the generator fell at worst (a slow bench, not a slow pipe). */
  maxLagMs: number;
}

export async function runOpenLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  const total = Math.max(1, Math.round((options.ratePerSec * options.durationMs) / 1000));
  const intervalMs = 1000 / options.ratePerSec;
  const startMs = nowMs();
  let emitted = 0;
  let maxLagMs = 0;
  while (emitted < total) {
    const now = nowMs();
    const due = Math.min(total, Math.floor((now - startMs) / intervalMs) + 1);
    if (due > emitted) maxLagMs = Math.max(maxLagMs, now - (startMs + emitted * intervalMs));
    while (emitted < due) options.emit(options.firstSeq + emitted++);
    await sleep(1);
  }
  const elapsedMs = nowMs() - startMs;
  return { emitted, achievedPerSec: total > 1 ? ((total - 1) / elapsedMs) * 1000 : NaN, maxLagMs };
}
