/**
 * The shape of the way back: what a backend asks the bridge to send to QQ, and what the outbound queue stores
 * for it (docs/qq-protocol.md §7.2, §8). Pure types and constants; no I/O.
 */

/** Where a message goes: a group (`/v2/groups/{openid}/messages`) or one user (`/v2/users/{openid}/messages`). */
export type Scene = 'group' | 'c2c';

/** QQ's message body (docs/qq-protocol.md §8.1): `content`, `msg_type`, `markdown`, `keyboard`, `ark`, … */
export type QqMessageBody = Record<string, unknown>;

/** Where an outbound job came from: a target's answer to a delivery, or the send API. */
export type OutboundSource = 'reply' | 'api';

/** The inbound event a passive message answers, as the bridge saw it. */
export interface InboundRef {
  /** The envelope id of the inbound event (also its `webhook-id`). */
  readonly eventId: string;
  /** The target whose answer produced the reply; absent for API sends. */
  readonly targetId?: string;
}

/** A message in the outbound queue. */
export interface OutboundMessageJob {
  readonly kind: 'message';
  /** The outbound id (`ob_…`): the BullMQ job id, what the API returns and `GET /v1/messages/{id}` reads. */
  readonly id: string;
  readonly scene: Scene;
  /** `group_openid` or `user_openid`. */
  readonly openid: string;
  /** The exact body POSTed to QQ, `msg_id` / `event_id` / `msg_seq` filled in; identical on every retry. */
  readonly body: QqMessageBody;
  readonly source: OutboundSource;
  readonly inbound?: InboundRef;
  /** Unix ms after which a passive reply can no longer be sent; it then fails `BRIDGE_ERR_REPLY_EXPIRED`. */
  readonly deadline?: number;
  /** The API caller's `Idempotency-Key`, echoed in result envelopes. */
  readonly idempotencyKey?: string;
  /** Unix ms when the job was enqueued, for latency metrics. */
  readonly enqueuedAt: number;
}

/** An acknowledgement of a button click: `PUT /interactions/{interactionId}` with `{ code }`. */
export interface OutboundInteractionJob {
  readonly kind: 'interaction';
  readonly id: string;
  readonly interactionId: string;
  /** 0 success, 1 failure, 2 too frequent, 3 duplicate, 4 no permission, 5 admin only (docs/qq-protocol.md §8.4). */
  readonly code: number;
  readonly source: OutboundSource;
  readonly inbound?: InboundRef;
  readonly enqueuedAt: number;
}

export type OutboundJobData = OutboundMessageJob | OutboundInteractionJob;

/** What a sent message's job returns: QQ's answer (`{id, timestamp}`), or that QQ already had it. */
export interface OutboundSent {
  /** QQ's message id; absent when QQ answered `40054005` on a retry (it already had the message). */
  readonly qqId?: string;
  /** QQ's timestamp as sent (an integer or an RFC 3339 string). */
  readonly timestamp?: number | string;
  /** True when a retry was answered `40054005`: an earlier attempt reached QQ, whose answer was lost. */
  readonly duplicate?: boolean;
  /** The attempt that succeeded, 1-based. */
  readonly attempt: number;
}

/** QQ's limit of passive messages per inbound message or event (docs/qq-protocol.md §7.2). */
export const MAX_REPLIES_PER_INBOUND = 5;

/** How long after the inbound event a passive reply is accepted, per scene (docs/qq-protocol.md §7.2). */
export const REPLY_WINDOW_MS: Readonly<Record<Scene, number>> = {
  group: 5 * 60_000,
  c2c: 60 * 60_000,
};

/** The QQ path a message job POSTs to. */
export function messagePath(scene: Scene, openid: string): string {
  const encoded = encodeURIComponent(openid);
  return scene === 'group' ? `/v2/groups/${encoded}/messages` : `/v2/users/${encoded}/messages`;
}
