import type { Logger } from '../log.js';

/** How often the per-target summary of deliveries is logged, when there was any activity. */
export const SUMMARY_INTERVAL_MS = 10_000;
/** Latencies kept per target and window for the median: the most recent ones once more arrive. */
const LATENCY_SAMPLES = 1024;

/**
 * One target's counts for the current window. Recording is a few increments and one store into a preallocated
 * array, because it runs once per attempt on the delivery hot path.
 */
export class TargetTally {
  delivered = 0;
  retried = 0;
  deadLettered = 0;
  /** Latencies recorded so far this window; past {@link LATENCY_SAMPLES} the oldest are overwritten. */
  private recorded = 0;
  private maxMs = 0;
  private readonly samples = new Float64Array(LATENCY_SAMPLES);

  constructor(readonly targetId: string) {}

  /** A 2xx answer (and its replies stored). */
  recordDelivered(latencyMs: number): void {
    this.delivered++;
    this.latency(latencyMs);
  }

  /** A failed attempt with attempts left. */
  recordRetried(latencyMs: number): void {
    this.retried++;
    this.latency(latencyMs);
  }

  /** A job moved to the dead-letter queue; `latencyMs` when the target was contacted. */
  recordDeadLettered(latencyMs?: number): void {
    this.deadLettered++;
    if (latencyMs !== undefined) this.latency(latencyMs);
  }

  get active(): boolean {
    return this.delivered + this.retried + this.deadLettered > 0;
  }

  /** The median and maximum latency of the window; undefined when no attempt reached the target. */
  latencies(): { p50: number; max: number } | undefined {
    const count = Math.min(this.recorded, LATENCY_SAMPLES);
    if (count === 0) return undefined;
    const sorted = this.samples.subarray(0, count).sort();
    return { p50: sorted[Math.floor((count - 1) / 2)]!, max: this.maxMs };
  }

  reset(): void {
    this.delivered = 0;
    this.retried = 0;
    this.deadLettered = 0;
    this.recorded = 0;
    this.maxMs = 0;
  }

  private latency(ms: number): void {
    this.samples[this.recorded % LATENCY_SAMPLES] = ms;
    this.recorded++;
    if (ms > this.maxMs) this.maxMs = ms;
  }
}

/** Options of {@link startDeliverySummary}. */
export interface DeliverySummaryOptions {
  readonly logger: Logger;
  /** Default {@link SUMMARY_INTERVAL_MS}; injectable for tests. */
  readonly intervalMs?: number;
}

/** The running summary: one tally per target, logged and reset by one timer for all of them. */
export interface DeliverySummary {
  /** The tally of `targetId`, created on first use; callers keep it rather than looking it up per attempt. */
  tally(targetId: string): TargetTally;
  /** Stops the timer and logs what the last, partial window counted. */
  stop(): void;
}

function windowText(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 1000)} s` : `${ms} ms`;
}

/** The summary line of one target's window, e.g. `target "orders": 12 delivered, 3 retried, 0 dead-lettered …`. */
export function summaryMessage(tally: TargetTally, windowMs: number): string {
  const latency = tally.latencies();
  return (
    `target "${tally.targetId}": ${tally.delivered} delivered, ${tally.retried} retried, ` +
    `${tally.deadLettered} dead-lettered in the last ${windowText(windowMs)}` +
    (latency ? ` (latency p50 ${latency.p50} ms, max ${latency.max} ms)` : '')
  );
}

/**
 * Logs, at info, one line per target per window that had any activity: deliveries, retried attempts and dead
 * letters, with the median and maximum latency. Successful deliveries are otherwise only logged at debug, one line
 * each; this keeps an info log showing that events flow without a line per event. One unref'd timer serves every
 * target, so it never holds the process open.
 */
export function startDeliverySummary(options: DeliverySummaryOptions): DeliverySummary {
  const log = options.logger;
  const intervalMs = options.intervalMs ?? SUMMARY_INTERVAL_MS;
  const tallies = new Map<string, TargetTally>();
  let windowStart = Date.now();

  const flush = (): void => {
    const now = Date.now();
    const windowMs = now - windowStart;
    windowStart = now;
    for (const tally of tallies.values()) {
      if (!tally.active) continue;
      const latency = tally.latencies();
      log.info(
        {
          targetId: tally.targetId,
          delivered: tally.delivered,
          retried: tally.retried,
          deadLettered: tally.deadLettered,
          windowMs,
          ...(latency ? { latencyP50Ms: latency.p50, latencyMaxMs: latency.max } : {}),
        },
        summaryMessage(tally, windowMs),
      );
      tally.reset();
    }
  };
  const timer = setInterval(flush, intervalMs);
  timer.unref();

  return {
    tally(targetId) {
      let tally = tallies.get(targetId);
      if (!tally) {
        tally = new TargetTally(targetId);
        tallies.set(targetId, tally);
      }
      return tally;
    },
    stop() {
      clearInterval(timer);
      flush();
    },
  };
}
