import type { LatencySummary } from './stats.js';

/**
 * How the receiver answers: `ok` 200s every request with no body; `reply` 200s every request too, and answers each
 * GROUP_AT_MESSAGE_CREATE with one reply, `{"reply": {"content": "<seq>"}}`, which the bridge sends to QQ;
 * `503` refuses each with 503; `refuse` stops listening.
 */
export type ReceiverMode = 'ok' | 'reply' | '503' | 'refuse';
/** The modes in which the target is down (the backlog phase's outage). */
export type OutageMode = Extract<ReceiverMode, '503' | 'refuse'>;

/** Bench → receiver. Every command is answered by a {@link ReceiverReply} with the same `id`. */
export type ReceiverCommand =
  | { id: number; cmd: 'reset'; targets: number; maxSeq: number }
  | { id: number; cmd: 'stats'; expectedPerTarget: number }
  | { id: number; cmd: 'mode'; mode: ReceiverMode };

/** What the receiver saw since the last `reset`, for events with seq 1..maxSeq. */
export interface PhaseStats {
  /** 2xx deliveries of tracked events (seq ≥ 1), duplicates included. */
  delivered: number;
  duplicates: number;
  /** Tracked (target, seq) pairs with seq ≤ expectedPerTarget that never arrived. */
  missing: number;
  /** Deliveries whose body had no readable seq, or a seq past maxSeq. */
  untracked: number;
  /** Requests answered 503 (mode `503`). */
  refused: number;
  /** Send → arrival, ms, over tracked deliveries (first arrival of each). */
  latency: LatencySummary;
  firstAtMs: number;
  lastAtMs: number;
}

/** Receiver → bench. */
export type ReceiverMessage =
  | { type: 'ready'; port: number }
  | { type: 'count'; delivered: number }
  | { type: 'reply'; id: number; stats?: PhaseStats; error?: string };
