import type { RedisClient } from '../redis/client.js';
import type { TargetConfig } from '../config/types.js';
import type { Envelope } from '../events/envelope.js';
import { createTargetFilter } from '../events/filter.js';
import type { NormalizedEvent } from '../events/normalize.js';
import type { Logger } from '../log.js';
import type { DeliveryJobData } from './job.js';
import { deliveryJobOptions } from './job-options.js';
import { deliveryQueue, type DeliveryQueue } from './delivery-queue.js';
import { NO_REPLICA_WAIT, replicated, type ReplicaWaitPolicy } from './replica-wait.js';

/**
 * Largest body a target is sent: the envelope's JSON in UTF-8 bytes, `raw` included for `include_raw` targets.
 * 1 MiB matches the gateway's default frame cap and the request limit many receivers (and their proxies) apply,
 * and is far above any real QQ event, so only a broken or hostile frame gets here. Bigger events are not sent, as
 * every retry would resend them and Redis would hold them until delivered; they are dead-lettered instead (see
 * {@link DeliveryProducer.enqueue}). A constant, not a setting, until a deployment needs otherwise.
 */
export const MAX_ENVELOPE_BYTES = 1024 * 1024;

/**
 * What an oversize event's dead letter keeps instead of the envelope: everything that identifies the event,
 * without `data` (and `raw`), which made it too big.
 */
function oversizeSummary(envelope: Envelope, bytes: number): string {
  const { data: _data, ...identity } = envelope;
  return JSON.stringify({ ...identity, oversize: { bytes, limit: MAX_ENVELOPE_BYTES } });
}

export interface ProducerOptions {
  connection: RedisClient;
  prefix: string;
  targets: readonly TargetConfig[];
  dedupeWindowMs: number;
  /** How many replicas must confirm an enqueue before it resolves (`redis.min_replicas`); default none. */
  replicaWait?: ReplicaWaitPolicy;
  /**
   * Called once per event a target's `events`/`groups` filter keeps from it, for `qqwb_events_filtered_total`.
   * Exceptions it throws are ignored: a metric must not stop an event.
   */
  onFiltered?: (targetId: string) => void;
  /** Receives a debug line per filtered event (type, target, its patterns). Default: none. */
  logger?: Logger;
}

interface TargetRoute {
  target: TargetConfig;
  queue: DeliveryQueue;
  wants: (envelope: Envelope) => boolean;
}

/**
 * Fans one normalized event out into one delivery job per interested target. The promise resolves only after
 * Redis acknowledged every job, and `replicaWait.minReplicas` replicas confirmed them, which is what lets the
 * gateway advance its durable seq; too few replicas reject it with `BRIDGE_ERR_NOT_REPLICATED`.
 */
export class DeliveryProducer {
  private readonly routes: TargetRoute[];

  constructor(private readonly options: ProducerOptions) {
    this.routes = options.targets.map((target) => {
      const queue = deliveryQueue(target.id, options.prefix, options.connection);
      // Connection errors surface as rejected adds, which the caller handles; without a listener BullMQ
      // would print each one to the console.
      queue.on('error', () => undefined);
      return { target, queue, wants: createTargetFilter(target) };
    });
  }

  /**
   * The ids of the targets this event was enqueued for (already-seen events count: the add is a no-op). A body
   * over {@link MAX_ENVELOPE_BYTES} is not silently dropped: its target gets a job marked `undeliverable`, which
   * the worker moves straight to the dead-letter queue, so `dlq list` shows the event and why. It still counts
   * as enqueued, because the event is durable in Redis and the gateway may move past it.
   */
  async enqueue(event: NormalizedEvent, rawFrame?: unknown): Promise<string[]> {
    const [targets] = await this.enqueueMany([{ event, rawFrame }]);
    return targets ?? [];
  }

  /**
   * {@link enqueue} for several events at once: one `addBulk` (one pipelined round trip) per target instead of one
   * per event and target. Resolves, with each event's target ids, only after Redis acknowledged every job and,
   * with `replicaWait`, enough replicas confirmed them: one WAIT per master after the whole batch, not per job.
   */
  async enqueueMany(items: readonly { event: NormalizedEvent; rawFrame?: unknown }[]): Promise<string[][]> {
    const enqueuedAt = Date.now();
    const perRoute = this.routes.map(() => [] as Parameters<DeliveryQueue['addBulk']>[0]);
    const targetsPerEvent = items.map(({ event, rawFrame }) => {
      const { envelope, dedupeKey } = event;
      const targets: string[] = [];
      let plainData: DeliveryJobData | undefined;
      this.routes.forEach((route, index) => {
        if (!route.wants(envelope)) {
          this.filtered(route.target, envelope);
          return;
        }
        targets.push(route.target.id);
        // serialized and size-checked once per event, shared by every target that does not want the raw frame
        const data = route.target.includeRaw
          ? jobData(envelope, JSON.stringify({ ...envelope, raw: rawFrame ?? null }), enqueuedAt, true)
          : (plainData ??= jobData(envelope, JSON.stringify(envelope), enqueuedAt, false));
        perRoute[index]!.push({
          name: envelope.type,
          data,
          opts: deliveryJobOptions(route.target, envelope.id, dedupeKey, this.options.dedupeWindowMs),
        });
      });
      return targets;
    });
    const written = this.routes.filter((_, index) => perRoute[index]!.length > 0);
    if (written.length === 0) return targetsPerEvent;
    await replicated(
      this.options.connection,
      written.map((route) => route.queue.qualifiedName),
      this.options.replicaWait ?? NO_REPLICA_WAIT,
      () => Promise.all(this.routes.map((route, index) => addAll(route.queue, perRoute[index]!))),
    );
    return targetsPerEvent;
  }

  /** Reports an event a target's filter dropped, so "nothing arrived" can be told apart from a failure. */
  private filtered(target: TargetConfig, envelope: Envelope): void {
    try {
      this.options.onFiltered?.(target.id);
    } catch {
      // see onFiltered
    }
    const log = this.options.logger;
    if (log?.isLevelEnabled('debug') !== true) return;
    const groups = target.groups.length > 0 ? `, groups: ${target.groups.length} listed` : '';
    log.debug(
      {
        eventId: envelope.id,
        type: envelope.type,
        qqType: envelope.qq_type,
        targetId: target.id,
        events: target.events,
        groupsListed: target.groups.length,
      },
      `event ${envelope.type} (${envelope.qq_type}) not sent to target "${target.id}": its filter does not ` +
        `match (events: ${JSON.stringify(target.events)}${groups})`,
    );
  }

  async close(): Promise<void> {
    await Promise.all(this.routes.map((route) => route.queue.close()));
  }
}

async function addAll(queue: DeliveryQueue, jobs: Parameters<DeliveryQueue['addBulk']>[0]): Promise<void> {
  if (jobs.length > 0) await queue.addBulk(jobs);
}

function jobData(envelope: Envelope, body: string, enqueuedAt: number, includeRaw: boolean): DeliveryJobData {
  const data: DeliveryJobData = {
    eventId: envelope.id,
    type: envelope.type,
    qqType: envelope.qq_type,
    body,
    enqueuedAt,
  };
  const bytes = Buffer.byteLength(body, 'utf8');
  if (bytes > MAX_ENVELOPE_BYTES) {
    data.body = oversizeSummary(envelope, bytes);
    data.undeliverable =
      `envelope is ${bytes} bytes, over the ${MAX_ENVELOPE_BYTES}-byte limit` +
      (includeRaw ? ' (with include_raw)' : '') +
      '; not sent';
  }
  return data;
}
