const WINDOW_MS = 86_400_000;
const TOTAL = 1000;

/** `session_start_limit` of `/gateway/bot` (docs/qq-protocol.md §2.2). */
export interface SessionStartLimitView {
  total: number;
  remaining: number;
  /** ms until `remaining` is reset to `total` */
  reset_after: number;
  max_concurrency: number;
}

/**
 * Counts new sessions (Identify → READY) in a rolling 24 h window. The simulator reports the count but never refuses
 * an Identify when it reaches 0: the real gateway's behaviour there is undocumented, and tests should not trip it.
 */
export class SessionStartLimit {
  #remaining = TOTAL;
  #resetAt: number;

  constructor(private readonly now: () => number) {
    this.#resetAt = now() + WINDOW_MS;
  }

  consume(): void {
    this.#roll();
    if (this.#remaining > 0) this.#remaining--;
  }

  view(): SessionStartLimitView {
    this.#roll();
    return {
      total: TOTAL,
      remaining: this.#remaining,
      reset_after: Math.max(0, this.#resetAt - this.now()),
      max_concurrency: 1,
    };
  }

  #roll(): void {
    const now = this.now();
    if (now < this.#resetAt) return;
    this.#remaining = TOTAL;
    this.#resetAt += (Math.floor((now - this.#resetAt) / WINDOW_MS) + 1) * WINDOW_MS;
  }
}
