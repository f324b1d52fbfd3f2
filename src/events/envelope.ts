/** Version of the envelope contract; bumped on any incompatible change. */
export const ENVELOPE_VERSION = 1;

/** What a target receives (docs/design.md §3). */
export interface Envelope {
  /**
   * Stable event id: QQ's dispatch id, else `<t>:<sha256 of t + d>`; at most 128 visible ASCII characters (a
   * dispatch id that is not becomes `<t>:<sha256 of it>`). Also the `webhook-id` header.
   */
  id: string;
  /** Normalized type, e.g. `group.bot.added`, or `qq.unknown`. */
  type: string;
  /** QQ's event name (`t`). */
  qq_type: string;
  /** From the event's own timestamp; falls back to received_at when absent or unparseable. */
  occurred_at: string;
  received_at: string;
  app_id: string;
  /** [shard id, shard count]; [0, 1] for the webhook ingress. */
  shard: [number, number];
  /** The gateway sequence number, or null where QQ sent none (webhook mode). */
  seq: number | null;
  data: Record<string, unknown>;
  /** Present only when `d` did not match the event's schema: what is wrong, one entry each. */
  malformed?: string[];
  /** The original frame, only for targets with `include_raw: true`. */
  raw?: unknown;
  v: typeof ENVELOPE_VERSION;
}

/** A dispatch as the gateway saw it, before normalization. */
export interface DispatchFrame {
  op: 0;
  t: string;
  s?: number | null;
  id?: string;
  d: unknown;
}
