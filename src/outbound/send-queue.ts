/**
 * The durable outbound queue: one BullMQ queue per bot that every reply and API send goes through before it is
 * acknowledged (docs/design.md §1). Enqueueing fixes everything a retry must repeat exactly — the outbound id,
 * the body with `msg_seq` — so the worker only ever sends what is stored.
 */
import { createHash, randomUUID } from 'node:crypto';
import { Queue, type JobsOptions } from 'bullmq';
import type { RedisClient } from '../redis/client.js';
import { BridgeError } from '../errors.js';
import {
  MAX_REPLIES_PER_INBOUND,
  type InboundRef,
  type OutboundInteractionJob,
  type OutboundJobData,
  type OutboundMessageJob,
  type OutboundSource,
  type QqMessageBody,
  type Scene,
} from './message.js';
import { allocateMsgSeq, msgSeqKey, type SeqKey } from './msg-seq.js';
import { outboundQueuePrefix } from '../redis/keys.js';
import { legacyQueuePrefix } from '../redis/legacy-keys.js';
import { NO_REPLICA_WAIT, replicated, type ReplicaWaitPolicy } from '../queue/replica-wait.js';

/** Name of BullMQ's custom backoff type on outbound jobs; the outbound worker implements it. */
export const OUTBOUND_BACKOFF_TYPE = 'qqwb-outbound';

/** How long an Idempotency-Key is remembered, and sent or failed messages stay readable by id. */
export const OUTBOUND_RETENTION_MS = 24 * 60 * 60_000;

/** Most finished messages kept readable by id; past it the oldest go first. */
const KEEP_COMPLETED_COUNT = 100_000;

/** The BullMQ queue name of a bot's outbound messages. */
export function outboundQueueName(appId: string): string {
  return `outbound-${appId}`;
}

/**
 * Opens a handle on a bot's outbound queue under the key prefix, for the producer, the status reads and the
 * queue-depth metric. Its connection errors surface as rejected calls, which callers handle.
 */
export function openOutboundQueue(
  appId: string,
  prefix: string,
  connection: RedisClient,
): Queue<OutboundJobData> {
  const queue = new Queue<OutboundJobData>(outboundQueueName(appId), {
    connection,
    prefix: outboundQueuePrefix(prefix, appId),
  });
  queue.on('error', () => undefined);
  return queue;
}

/** The bot's outbound queue in the layout before per-queue hash tags (see legacy-drain.ts). */
export function openLegacyOutboundQueue(
  appId: string,
  prefix: string,
  connection: RedisClient,
): Queue<OutboundJobData> {
  const queue = new Queue<OutboundJobData>(outboundQueueName(appId), {
    connection,
    prefix: legacyQueuePrefix(prefix),
  });
  queue.on('error', () => undefined);
  return queue;
}

/** A message to enqueue; `msg_seq` is allocated when the body is passive and has none. */
export interface MessageRequest {
  readonly scene: Scene;
  readonly openid: string;
  readonly body: QqMessageBody;
  readonly source: OutboundSource;
  readonly inbound?: InboundRef;
  readonly deadline?: number;
  readonly idempotencyKey?: string;
  /**
   * A stable id for requests that may be repeated, such as the n-th reply in a target's answer to one delivery
   * (the delivery may be retried after a crash): the same id is enqueued once. Default: from the Idempotency-Key,
   * else random.
   */
  readonly dedupeId?: string;
}

/** A button-click acknowledgement to enqueue. */
export interface InteractionRequest {
  readonly interactionId: string;
  readonly code: number;
  readonly source: OutboundSource;
  readonly inbound?: InboundRef;
  readonly dedupeId?: string;
}

/** Options of {@link OutboundQueue}. */
export interface OutboundQueueOptions {
  readonly connection: RedisClient;
  readonly prefix: string;
  readonly appId: string;
  /** Attempts per message, the first included. */
  readonly attempts: number;
  /** How many replicas must confirm a stored message before it counts as stored (`redis.min_replicas`). */
  readonly replicaWait?: ReplicaWaitPolicy;
}

/** `ob_` and 32 hex digits of a hash of `parts`, or of a random UUID. */
function outboundId(...parts: string[]): string {
  const source = parts.length === 0 ? randomUUID() : parts.join('\u0000');
  return `ob_${createHash('sha256').update(source).digest('hex').slice(0, 32)}`;
}

/**
 * The outbound id a request with `dedupeId` gets: also the id of a reply the bridge refused before queueing it, so
 * its `bridge.message.failed` names the id the message would have had.
 */
export function outboundIdForDedupe(dedupeId: string): string {
  return outboundId('dedupe', dedupeId);
}

/** The counter a passive body numbers under, or undefined for an active message (no `msg_id`/`event_id`). */
export function seqKeyOf(body: QqMessageBody): SeqKey | undefined {
  const msgId = body['msg_id'];
  if (typeof msgId === 'string' && msgId !== '') return `m:${msgId}`;
  const eventId = body['event_id'];
  if (typeof eventId === 'string' && eventId !== '') return `e:${eventId}`;
  return undefined;
}

/** Producer side of a bot's outbound queue. */
export class OutboundQueue {
  readonly queue: Queue<OutboundJobData>;

  constructor(private readonly options: OutboundQueueOptions) {
    this.queue = openOutboundQueue(options.appId, options.prefix, options.connection);
  }

  /**
   * Stores a message durably and resolves with its outbound id. A passive message without `msg_seq` gets the
   * next number of its inbound id's counter; a sixth one is refused with `BRIDGE_ERR_REPLY_LIMIT` and not stored.
   * Enqueueing the same `dedupeId` or Idempotency-Key again returns the same id and stores nothing more. With
   * `replicaWait`, resolves only once enough replicas have the message and its `msg_seq` (one WAIT per master
   * after both writes), and rejects with `BRIDGE_ERR_NOT_REPLICATED` otherwise.
   */
  async enqueueMessage(request: MessageRequest): Promise<string> {
    const id = this.idFor(request.dedupeId, request.idempotencyKey);
    const body = { ...request.body };
    const seqKey = body['msg_seq'] === undefined ? seqKeyOf(body) : undefined;
    const counter = seqKey && msgSeqKey(this.options.prefix, this.options.appId, seqKey);
    const written = counter ? [this.queue.qualifiedName, counter] : [this.queue.qualifiedName];
    await this.replicated(written, () => this.storeMessage(request, id, body, seqKey));
    return id;
  }

  /** Allocates `msg_seq` under `seqKey` when given, then adds the job. */
  private async storeMessage(
    request: MessageRequest,
    id: string,
    body: QqMessageBody,
    seqKey: SeqKey | undefined,
  ): Promise<void> {
    if (seqKey !== undefined) {
      const key = msgSeqKey(this.options.prefix, this.options.appId, seqKey);
      const seq = await allocateMsgSeq(this.options.connection, key, id, MAX_REPLIES_PER_INBOUND);
      if (seq === undefined) {
        throw new BridgeError(
          'BRIDGE_ERR_REPLY_LIMIT',
          `${seqKey.startsWith('m:') ? 'msg_id' : 'event_id'} ${seqKey.slice(2)} already has ` +
            `${MAX_REPLIES_PER_INBOUND} replies, QQ's limit; this message was not sent`,
        );
      }
      body['msg_seq'] = seq;
    }
    const data: OutboundMessageJob = {
      kind: 'message',
      id,
      scene: request.scene,
      openid: request.openid,
      body,
      source: request.source,
      enqueuedAt: Date.now(),
      ...(request.inbound ? { inbound: request.inbound } : {}),
      ...(request.deadline === undefined ? {} : { deadline: request.deadline }),
      ...(request.idempotencyKey === undefined ? {} : { idempotencyKey: request.idempotencyKey }),
    };
    await this.queue.add('message', data, this.jobOptions(id));
  }

  /** Stores a button-click acknowledgement durably and resolves with its outbound id. */
  async enqueueInteraction(request: InteractionRequest): Promise<string> {
    const id = this.idFor(request.dedupeId, undefined);
    const data: OutboundInteractionJob = {
      kind: 'interaction',
      id,
      interactionId: request.interactionId,
      code: request.code,
      source: request.source,
      enqueuedAt: Date.now(),
      ...(request.inbound ? { inbound: request.inbound } : {}),
    };
    await this.replicated([this.queue.qualifiedName], () =>
      this.queue.add('interaction', data, this.jobOptions(id)),
    );
    return id;
  }

  private replicated<T>(keys: readonly string[], write: () => Promise<T>): Promise<T> {
    return replicated(this.options.connection, keys, this.options.replicaWait ?? NO_REPLICA_WAIT, write);
  }

  async close(): Promise<void> {
    await this.queue.close();
  }

  private idFor(dedupeId: string | undefined, idempotencyKey: string | undefined): string {
    if (dedupeId !== undefined) return outboundIdForDedupe(dedupeId);
    if (idempotencyKey !== undefined) return outboundId('idempotency-key', idempotencyKey);
    return outboundId();
  }

  private jobOptions(id: string): JobsOptions {
    return {
      jobId: id,
      attempts: this.options.attempts,
      backoff: { type: OUTBOUND_BACKOFF_TYPE },
      // Kept a day so `GET /v1/messages/{id}` can answer; failed ones are the outbound dead-letter queue.
      removeOnComplete: { age: OUTBOUND_RETENTION_MS / 1000, count: KEEP_COMPLETED_COUNT },
      removeOnFail: false,
      // The id alone dedupes only while the job exists; the key outlives it for the whole retention.
      deduplication: { id, ttl: OUTBOUND_RETENTION_MS },
    };
  }
}
