/**
 * The bridge's own events about outbound messages: `bridge.message.sent` once QQ has a message or an interaction
 * acknowledgement, `bridge.message.failed` once the bridge gave up on one (QQ refused it, its reply window closed,
 * its retries ran out, or the bridge refused a reply before queueing it). They are envelopes like QQ's events,
 * delivered through the same queues to the targets whose `events` ask for `bridge.*` (src/events/filter.ts), so a
 * backend learns what became of what it sent without polling `GET /v1/messages/{id}`.
 *
 * The builders are pure; {@link reportOutboundResult} and {@link reportRefusedReply} enqueue one through the
 * DeliveryProducer.
 */
import { BRIDGE_EVENT_TYPES } from '../events/catalog.js';
import { ENVELOPE_VERSION, type Envelope } from '../events/envelope.js';
import { frameEventId } from '../events/event-id.js';
import type { NormalizedEvent } from '../events/normalize.js';
import type { DeliveryProducer } from '../queue/producer.js';
import type { OutboundJobData, OutboundSent, OutboundSource, Scene } from './message.js';

/** `bridge.message.sent` or `bridge.message.failed`. */
export type ResultEventType = keyof typeof BRIDGE_EVENT_TYPES;

/** `data` of a result envelope. Optional fields are absent, never null; `scene`/`openid` are null for interactions. */
export interface ResultData {
  /** The outbound id (`ob_…`), as the send API returned it and `GET /v1/messages/{id}` reads it. */
  readonly outbound_id: string;
  /** `message`, or `interaction` for the acknowledgement of a button click. */
  readonly kind: 'message' | 'interaction';
  /** `reply` (a target's answer to a delivery) or `api` (the send API). */
  readonly source: OutboundSource;
  readonly scene: Scene | null;
  /** `group_openid` (scene `group`) or `user_openid` (scene `c2c`). */
  readonly openid: string | null;
  /** The acknowledged interaction's id (`kind: interaction`). */
  readonly interaction_id?: string;
  /** The API caller's `Idempotency-Key`. */
  readonly idempotency_key?: string;
  /** The inbound event answered, and the target whose answer held the reply. */
  readonly reply_to?: { readonly event_id: string; readonly target_id?: string };
  /** QQ's answer (`bridge.message.sent`); only `duplicate: true` when QQ already had the message. */
  readonly qq?: { readonly id?: string; readonly timestamp?: number | string; readonly duplicate?: true };
  /** Why (`bridge.message.failed`): a `BRIDGE_ERR_…`, `QQ_<code>` or `HTTP_<status>` code and a message. */
  readonly error?: { readonly code: string; readonly message: string };
  /** Calls made to QQ; 0 when it was never sent (expired, or refused before queueing). */
  readonly attempts: number;
}

/** What the outbound worker's result hook reports about a job: the fields a result envelope is built from. */
export interface OutboundResultSummary {
  /** `retry` is not final and makes no envelope. */
  readonly outcome: 'sent' | 'duplicate' | 'retry' | 'failed' | 'expired';
  /** Attempts made, the last one included. */
  readonly attempts: number;
  /** The job's return value on `sent` / `duplicate`. */
  readonly sent?: OutboundSent;
  /** Why, on `failed` / `expired`. */
  readonly error?: { readonly code: string; readonly message: string };
}

/** A reply the bridge refused before queueing it (no scene, malformed, over QQ's limit). */
export interface RefusedReply {
  /** The id it would have had (`outboundIdForDedupe` of its dedupe id), so the same refusal has the same id. */
  readonly outboundId: string;
  readonly kind: 'message' | 'interaction';
  /** Where it would have gone, when the event says. */
  readonly scene?: Scene;
  readonly openid?: string;
  readonly interactionId?: string;
  readonly inbound: { readonly eventId: string; readonly targetId: string };
  readonly error: { readonly code: string; readonly message: string };
}

/** The envelope fields that do not come from the outbound job. */
export interface ResultEnvelopeContext {
  /** The bot's app id. */
  readonly appId: string;
  /** When the message was sent or failed: `occurred_at`. */
  readonly occurredAt: Date;
  /** When the bridge made the envelope: `received_at`. */
  readonly receivedAt: Date;
}

/**
 * `<type>:<outbound id>`, within the envelope id rules (at most 128 visible ASCII characters): an outbound id
 * that would break them (only a corrupted job has one) is hashed, as QQ ids are.
 */
export function resultEventId(type: ResultEventType, outboundId: string): string {
  return frameEventId(type, `${type}:${outboundId}`);
}

function envelopeOf(type: ResultEventType, data: ResultData, context: ResultEnvelopeContext): Envelope {
  return {
    id: resultEventId(type, data.outbound_id),
    type,
    qq_type: BRIDGE_EVENT_TYPES[type],
    occurred_at: context.occurredAt.toISOString(),
    received_at: context.receivedAt.toISOString(),
    app_id: context.appId,
    shard: [0, 1],
    seq: null,
    data: { ...data },
    v: ENVELOPE_VERSION,
  };
}

function qqOf(sent: OutboundSent | undefined): NonNullable<ResultData['qq']> {
  return {
    ...(sent?.qqId === undefined ? {} : { id: sent.qqId }),
    ...(sent?.timestamp === undefined ? {} : { timestamp: sent.timestamp }),
    ...(sent?.duplicate === true ? { duplicate: true as const } : {}),
  };
}

/**
 * The result envelope of an outbound job's final outcome: `bridge.message.sent` for `sent` / `duplicate`,
 * `bridge.message.failed` for `failed` / `expired`; undefined for `retry`, which is not final.
 */
export function outboundResultEnvelope(
  job: OutboundJobData,
  result: OutboundResultSummary,
  context: ResultEnvelopeContext,
): Envelope | undefined {
  if (result.outcome === 'retry') return undefined;
  const sent = result.outcome === 'sent' || result.outcome === 'duplicate';
  const where =
    job.kind === 'message'
      ? { kind: 'message' as const, scene: job.scene, openid: job.openid }
      : { kind: 'interaction' as const, scene: null, openid: null, interaction_id: job.interactionId };
  const data: ResultData = {
    outbound_id: job.id,
    ...where,
    source: job.source,
    ...(job.kind === 'message' && job.idempotencyKey !== undefined
      ? { idempotency_key: job.idempotencyKey }
      : {}),
    ...(job.inbound ? { reply_to: replyToOf(job.inbound) } : {}),
    ...(sent
      ? { qq: qqOf(result.sent) }
      : { error: result.error ?? { code: 'BRIDGE_ERR_QQ_SEND', message: `outbound ${result.outcome}` } }),
    attempts: result.attempts,
  };
  return envelopeOf(sent ? 'bridge.message.sent' : 'bridge.message.failed', data, context);
}

function replyToOf(inbound: { eventId: string; targetId?: string }): NonNullable<ResultData['reply_to']> {
  return {
    event_id: inbound.eventId,
    ...(inbound.targetId === undefined ? {} : { target_id: inbound.targetId }),
  };
}

/** The `bridge.message.failed` of a reply the bridge refused before queueing it (attempts 0). */
export function refusedReplyEnvelope(refused: RefusedReply, context: ResultEnvelopeContext): Envelope {
  const data: ResultData = {
    outbound_id: refused.outboundId,
    kind: refused.kind,
    source: 'reply',
    scene: refused.scene ?? null,
    openid: refused.openid ?? null,
    ...(refused.interactionId === undefined ? {} : { interaction_id: refused.interactionId }),
    reply_to: replyToOf(refused.inbound),
    error: refused.error,
    attempts: 0,
  };
  return envelopeOf('bridge.message.failed', data, context);
}

/** Where result envelopes go: the DeliveryProducer (one per process suffices), or anything that enqueues alike. */
export type ResultSink = Pick<DeliveryProducer, 'enqueue'>;

/** When a result is reported; both default to now. */
export interface ReportOptions {
  readonly appId: string;
  /** When the message was sent or failed. */
  readonly occurredAt?: Date;
}

/** An envelope as the producer takes it, deduped on its id: a result reported twice is delivered once. */
function eventOf(envelope: Envelope): NormalizedEvent {
  return { envelope, dedupeKey: envelope.id };
}

function contextOf(options: ReportOptions): ResultEnvelopeContext {
  const receivedAt = new Date();
  return { appId: options.appId, occurredAt: options.occurredAt ?? receivedAt, receivedAt };
}

/**
 * Enqueues the result envelope of an outbound job's outcome for every target whose `events` match it, and
 * resolves with their ids (none for `retry`, which makes no envelope, or when no target subscribes). For the
 * outbound worker's result hook, which must not wait on it:
 *
 * ```ts
 * onResult: (job, result) => {
 *   if (result.final) void reportOutboundResult(producer, job, result, { appId }).catch(logIt);
 * }
 * ```
 *
 * Rejects when Redis does; reporting the same job's result again enqueues nothing more (the envelope id is the
 * dedupe key, within `delivery.dedupe_window`).
 */
export async function reportOutboundResult(
  producer: ResultSink,
  job: OutboundJobData,
  result: OutboundResultSummary,
  options: ReportOptions,
): Promise<string[]> {
  const envelope = outboundResultEnvelope(job, result, contextOf(options));
  return envelope ? producer.enqueue(eventOf(envelope)) : [];
}

/** Enqueues the `bridge.message.failed` of a refused reply; resolves with the target ids, rejects when Redis does. */
export async function reportRefusedReply(
  producer: ResultSink,
  refused: RefusedReply,
  options: ReportOptions,
): Promise<string[]> {
  return producer.enqueue(eventOf(refusedReplyEnvelope(refused, contextOf(options))));
}
