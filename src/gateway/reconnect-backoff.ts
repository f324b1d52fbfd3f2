/** The official SDK's schedule (docs/qq-protocol.md D.5): the last step repeats forever. */
export const DEFAULT_RECONNECT_SCHEDULE_MS = [1_000, 2_000, 5_000, 10_000, 30_000, 60_000];

/**
 * Reconnect delays: a fixed schedule with jitter, unlimited, reset only once a session is READY or RESUMED.
 * Transient network errors are never counted against a budget: there is no budget.
 */
export class ReconnectBackoff {
  private attempt = 0;

  constructor(
    private readonly scheduleMs: readonly number[] = DEFAULT_RECONNECT_SCHEDULE_MS,
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay before the next attempt, at least `minMs`; jittered between 50 % and 100 % of the step. */
  next(minMs = 0): number {
    const step = this.scheduleMs[Math.min(this.attempt, this.scheduleMs.length - 1)] ?? 1_000;
    this.attempt++;
    const jittered = Math.round(step / 2 + (this.random() * step) / 2);
    return Math.max(jittered, minMs);
  }

  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}
