import { DEFAULT_ROTATION_RETRY_DELAYS_MS, type RotationReason } from './rotation.js';

/**
 * When a shard tries its next rotation: `rotateEveryMs` after the current session's READY, or after a wait once a
 * try was skipped or failed. Failed tries back off along `retryDelaysMs` (the last step repeats) until one succeeds.
 * A successor for failing resumes is asked for by every refused resume, so after a failed one it is only refused
 * until its wait is over.
 */
export class RotationSchedule {
  private ageTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private resumeRetryAt = 0;
  private sessionStartedAt: number | undefined;

  constructor(
    private readonly rotateEveryMs: number,
    private readonly retryDelaysMs: readonly number[] = DEFAULT_ROTATION_RETRY_DELAYS_MS,
    private readonly rotate: (reason: RotationReason) => void,
  ) {}

  /** How long the current session has existed, as far as this process saw it. */
  get sessionAgeMs(): number | undefined {
    return this.sessionStartedAt === undefined ? undefined : Date.now() - this.sessionStartedAt;
  }

  /** The current session became READY (or was first seen RESUMED, when its READY was before this process). */
  sessionStarted(at = Date.now()): void {
    this.sessionStartedAt = at;
    this.clear();
    const delayMs = Math.max(0, at + this.rotateEveryMs - Date.now());
    this.ageTimer = setTimeout(() => this.rotate('age'), delayMs);
    this.ageTimer.unref();
  }

  get knowsSessionStart(): boolean {
    return this.sessionStartedAt !== undefined;
  }

  /** An age rotation is tried again after `delayMs` (a skipped one: budget low, discovery failed, not healthy). */
  retryIn(delayMs: number): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.rotate('age'), delayMs);
    this.retryTimer.unref();
  }

  /** The wait after the next failure, without counting it. */
  nextRetryDelay(): number {
    return this.delay(this.failures);
  }

  /** Counts a failed rotation and schedules what follows it; returns the wait and the attempt number. */
  failed(reason: RotationReason): { retryInMs: number; attempt: number } {
    const retryInMs = this.delay(this.failures++);
    if (reason === 'age') this.retryIn(retryInMs);
    else this.resumeRetryAt = Date.now() + retryInMs;
    return { retryInMs, attempt: this.failures };
  }

  succeeded(): void {
    this.failures = 0;
    this.resumeRetryAt = 0;
  }

  /** Whether a successor for failing resumes may be opened now. */
  get resumeRotationAllowed(): boolean {
    return Date.now() >= this.resumeRetryAt;
  }

  clear(): void {
    clearTimeout(this.ageTimer);
    clearTimeout(this.retryTimer);
  }

  private delay(attempt: number): number {
    return this.retryDelaysMs[Math.min(attempt, this.retryDelaysMs.length - 1)] ?? 60_000;
  }
}
