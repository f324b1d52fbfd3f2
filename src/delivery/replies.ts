/**
 * Replies in a target's answer (docs/design.md §4): a 2xx answer to a delivery may carry `{"replies": […]}` or
 * `{"reply": …}` and, for a button click, `{"interaction": {"code": n}}`. Each becomes an outbound job, stored
 * before the delivery completes: a worker that dies in between leaves the delivery to run again, and the dedupe id
 * `<event id> NUL <target id> NUL <index>` stores each reply once however often that happens. What cannot be sent
 * never fails the delivery (the target did receive the event): it is recorded on the delivery job, logged, counted
 * and reported to the backend as `bridge.message.failed`.
 */
import { isBridgeError, type BridgeErrorCode } from '../errors.js';
import { isRecord } from '../events/check.js';
import type { Envelope } from '../events/envelope.js';
import type { Logger } from '../log.js';
import { MAX_REPLIES_PER_INBOUND, type QqMessageBody, type Scene } from '../outbound/message.js';
import { parseAnswer, type AnswerText } from '../outbound/reply-parser.js';
import { reportRefusedReply, type ResultSink } from '../outbound/result-envelope.js';
import { replySceneOf, sceneOf, type ReplyAddress } from '../outbound/scene.js';
import { outboundIdForDedupe, type OutboundQueue } from '../outbound/send-queue.js';

/** What became of one reply: `qqwb_replies_total{outcome}`. */
export type ReplyOutcome = 'enqueued' | 'refused' | 'malformed' | 'over_limit';

/** Where replies go: the bot's outbound queue, and the producer that delivers `bridge.message.failed`. */
export interface ReplyRouting {
  readonly outbound: Pick<OutboundQueue, 'enqueueMessage' | 'enqueueInteraction'>;
  readonly results: ResultSink;
}

/** A delivery the target answered 2xx with a body. */
export interface AnsweredDelivery {
  readonly eventId: string;
  readonly targetId: string;
  /** The delivery job's `type`; the bridge's own events (`bridge.…`) cannot be replied to. */
  readonly type: string;
  /** The envelope JSON as delivered. */
  readonly body: string;
  readonly answer: AnswerText;
}

/** One reply that was not sent. */
export interface ReplyFailure {
  readonly outcome: Exclude<ReplyOutcome, 'enqueued'>;
  /** The id it would have had, also the `outbound_id` of its `bridge.message.failed`. */
  readonly outbound_id: string;
  readonly code: BridgeErrorCode;
  /** What was wrong and how to fix it. */
  readonly reason: string;
}

/** What was done with an answer's replies, as the delivery job's log keeps it (`replies` in the record). */
export interface ReplyRecord {
  /** Outbound ids stored, in order; an interaction acknowledgement last. */
  readonly enqueued: string[];
  /** The first {@link MAX_REPORTED_FAILURES} replies not sent. */
  readonly failed: ReplyFailure[];
  /** How many more were not sent, beyond those listed (and reported). */
  readonly omitted?: number;
}

/** Thrown when Redis failed while storing or reporting replies: the delivery must run again. */
export class ReplyStoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ReplyStoreError';
  }
}

/**
 * Most unsent replies of one answer that are listed and reported one by one; an answer of a thousand replies
 * must not make a thousand envelopes. The metric counts every one.
 */
export const MAX_REPORTED_FAILURES = 10;

/** Options of {@link createReplyHandler}. */
export interface ReplyHandlerOptions {
  readonly routing: ReplyRouting;
  readonly appId: string;
  readonly logger: Logger;
  /** Called once per reply with its outcome, for metrics. */
  readonly onReply?: (targetId: string, outcome: ReplyOutcome) => void;
}

/** A failure before it gets its reason's fix and its report. */
interface Unsent extends ReplyFailure {
  readonly kind: 'message' | 'interaction';
  readonly interactionId?: string;
}

const HOW_TO_FIX: Readonly<Record<Unsent['outcome'], string>> = {
  refused: 'answer such events with a plain 2xx and no replies',
  malformed: 'fix the answer (docs/envelope.md, "Replying to an event")',
  over_limit:
    `QQ takes ${MAX_REPLIES_PER_INBOUND} passive messages per event, counted over every target's answer and ` +
    'the send API; send fewer',
};

function readEnvelope(body: string): Envelope | undefined {
  try {
    const value: unknown = JSON.parse(body);
    if (!isRecord(value) || !isRecord(value['data'])) return undefined;
    const strings = ['id', 'type', 'qq_type', 'occurred_at', 'received_at'] as const;
    return strings.every((key) => typeof value[key] === 'string')
      ? (value as unknown as Envelope)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Builds the function the delivery worker calls on a `delivered` attempt with a body. It resolves with what it
 * did (undefined when the answer asked for nothing: an acknowledgement), and rejects with {@link ReplyStoreError}
 * only when Redis failed, so that the delivery is retried; everything else about the answer is reported, never
 * thrown.
 */
export function createReplyHandler(
  options: ReplyHandlerOptions,
): (delivery: AnsweredDelivery) => Promise<ReplyRecord | undefined> {
  const { routing, appId } = options;
  const log = options.logger.child({ component: 'replies' });
  const count = (targetId: string, outcome: ReplyOutcome): void => {
    try {
      options.onReply?.(targetId, outcome);
    } catch {
      // a metrics hook must not change what happens to a delivery
    }
  };

  return async (delivery) => {
    const parsed = parseAnswer(delivery.answer);
    if (
      parsed.messages.length === 0 &&
      parsed.interactionCode === undefined &&
      parsed.problems.length === 0
    ) {
      return undefined;
    }
    const { eventId, targetId } = delivery;
    const dedupeId = (part: string | number): string => `${eventId}\u0000${targetId}\u0000${part}`;
    const enqueued: string[] = [];
    const unsent: Unsent[] = [];
    const fail = (
      outcome: Unsent['outcome'],
      code: BridgeErrorCode,
      part: string | number,
      reason: string,
      kind: Unsent['kind'] = 'message',
    ): void => {
      unsent.push({ outcome, code, reason, kind, outbound_id: outboundIdForDedupe(dedupeId(part)) });
    };
    const store = async <T>(what: string, work: () => Promise<T>): Promise<T> => {
      try {
        return await work();
      } catch (err) {
        if (isBridgeError(err, 'BRIDGE_ERR_REPLY_LIMIT')) throw err;
        const detail = err instanceof Error ? err.message : String(err);
        throw new ReplyStoreError(`could not store ${what} for event ${eventId}: ${detail}`, { cause: err });
      }
    };

    // The bridge's own events are never answered, nor reported (a report is itself such an event).
    const ownEvent = delivery.type.startsWith('bridge.');
    const envelope = ownEvent ? undefined : readEnvelope(delivery.body);
    const scene = envelope
      ? replySceneOf(envelope)
      : {
          ok: false as const,
          reason: ownEvent
            ? "the bridge's own events cannot be replied to"
            : 'the delivered envelope could not be read',
        };
    const where: { scene?: Scene; openid?: string } = scene.ok
      ? scene.address
      : envelope
        ? (sceneOf(envelope.data) ?? {})
        : {};

    let overLimit: string | undefined;
    for (const [index, message] of parsed.messages.entries()) {
      if (!scene.ok) {
        fail('refused', 'BRIDGE_ERR_REPLY_REFUSED', index, `replies[${index}] not sent: ${scene.reason}`);
        continue;
      }
      if (overLimit !== undefined) {
        fail('over_limit', 'BRIDGE_ERR_REPLY_LIMIT', index, `replies[${index}] not sent: ${overLimit}`);
        continue;
      }
      try {
        enqueued.push(
          await store(`replies[${index}]`, () =>
            enqueueReply(routing, scene.address, message, { eventId, targetId }, dedupeId(index)),
          ),
        );
      } catch (err) {
        if (!isBridgeError(err, 'BRIDGE_ERR_REPLY_LIMIT')) throw err;
        overLimit = err.message;
        fail('over_limit', 'BRIDGE_ERR_REPLY_LIMIT', index, `replies[${index}] not sent: ${overLimit}`);
      }
    }

    parsed.problems.forEach((problem, index) => {
      fail('malformed', 'BRIDGE_ERR_REPLY_REFUSED', `problem\u0000${index}`, problem);
    });

    if (parsed.interactionCode !== undefined) {
      const interactionId = envelope?.qq_type === 'INTERACTION_CREATE' ? envelope.data['id'] : undefined;
      if (envelope?.qq_type !== 'INTERACTION_CREATE') {
        fail(
          'malformed',
          'BRIDGE_ERR_REPLY_REFUSED',
          'interaction',
          `"interaction" acknowledges only INTERACTION_CREATE events, not ${envelope?.qq_type ?? delivery.type}; it was ignored`,
          'interaction',
        );
      } else if (typeof interactionId !== 'string' || interactionId === '') {
        fail(
          'refused',
          'BRIDGE_ERR_REPLY_REFUSED',
          'interaction',
          'INTERACTION_CREATE without an interaction id (data.id) cannot be acknowledged',
          'interaction',
        );
      } else {
        const code = parsed.interactionCode;
        enqueued.push(
          await store('the interaction acknowledgement', () =>
            routing.outbound.enqueueInteraction({
              interactionId,
              code,
              source: 'reply',
              inbound: { eventId, targetId },
              dedupeId: dedupeId('interaction'),
            }),
          ),
        );
      }
    }

    const failed: Unsent[] = unsent.map((u) => ({ ...u, reason: `${u.reason}; ${HOW_TO_FIX[u.outcome]}` }));
    const reported = failed.slice(0, MAX_REPORTED_FAILURES);
    if (!ownEvent) {
      for (const failure of reported) {
        await store('the report of an unsent reply', () =>
          reportRefusedReply(
            routing.results,
            {
              outboundId: failure.outbound_id,
              kind: failure.kind,
              ...where,
              ...(failure.kind === 'interaction' && typeof envelope?.data['id'] === 'string'
                ? { interactionId: envelope.data['id'] }
                : {}),
              inbound: { eventId, targetId },
              error: { code: failure.code, message: failure.reason },
            },
            { appId },
          ),
        );
      }
    }

    for (let i = 0; i < enqueued.length; i++) count(targetId, 'enqueued');
    for (const failure of failed) count(targetId, failure.outcome);
    const omitted = failed.length - reported.length;
    if (failed.length > 0) {
      log.warn(
        {
          eventId,
          targetId,
          enqueued: enqueued.length,
          failed: reported.map(({ outcome, code, reason }) => ({ outcome, code, reason })),
          ...(omitted > 0 ? { omitted } : {}),
        },
        `${failed.length} of the replies in target "${targetId}"'s answer to event ${eventId} not sent: ` +
          (reported[0]?.reason ?? ''),
      );
    }
    return {
      enqueued,
      failed: reported.map(({ outcome, outbound_id, code, reason }) => ({
        outcome,
        outbound_id,
        code,
        reason,
      })),
      ...(omitted > 0 ? { omitted } : {}),
    };
  };
}

/** Stores one reply: the message with the event's passive key, numbered and deduped by the outbound queue. */
function enqueueReply(
  routing: ReplyRouting,
  address: ReplyAddress,
  message: QqMessageBody,
  inbound: { readonly eventId: string; readonly targetId: string },
  dedupeId: string,
): Promise<string> {
  return routing.outbound.enqueueMessage({
    scene: address.scene,
    openid: address.openid,
    body: { ...message, ...address.passive },
    source: 'reply',
    inbound,
    deadline: address.deadline,
    dedupeId,
  });
}
