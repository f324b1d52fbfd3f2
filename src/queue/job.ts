/**
 * What one delivery job carries. The body is the exact JSON a target receives, built once at enqueue time, so
 * every retry signs and sends the same bytes. Secrets are never stored here: the worker looks the target up in
 * its own config.
 */
export interface DeliveryJobData {
  eventId: string;
  type: string;
  qqType: string;
  body: string;
  /** Unix ms when the event was enqueued, for end-to-end latency. */
  enqueuedAt: number;
  /**
   * Set by the producer when the event cannot be delivered at all (its envelope is over
   * `MAX_ENVELOPE_BYTES`): the worker dead-letters the job without contacting the target, with this as the
   * reason, and `body` holds a summary of the envelope instead of the envelope itself.
   */
  undeliverable?: string;
}

/** One delivery attempt, kept in the job's log so `dlq show` and the dashboard can display it. */
export interface AttemptRecord {
  attempt: number;
  at: string;
  /** HTTP status, absent when no response arrived. */
  status?: number;
  latencyMs: number;
  outcome: 'delivered' | 'retry' | 'rejected';
  /** A stable code such as `UND_ERR_CONNECT_TIMEOUT`, `HTTP_503`, `BRIDGE_ERR_SSRF_BLOCKED`. */
  errorCode?: string;
  error?: string;
  /** The first 1 KiB of the response body. */
  body?: string;
}
