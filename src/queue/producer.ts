import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { TargetConfig } from '../config/types.js';
import type { Envelope } from '../events/envelope.js';
import { createTargetFilter } from '../events/filter.js';
import type { NormalizedEvent } from '../events/normalize.js';
import type { DeliveryJobData } from './job.js';
import { deliveryJobOptions } from './job-options.js';
import { deliveryQueueName } from './names.js';

export interface ProducerOptions {
  connection: Redis;
  prefix: string;
  targets: readonly TargetConfig[];
  dedupeWindowMs: number;
}

interface TargetRoute {
  target: TargetConfig;
  queue: Queue<DeliveryJobData>;
  wants: (envelope: Envelope) => boolean;
}

/**
 * Fans one normalized event out into one delivery job per interested target. The promise resolves only after
 * Redis acknowledged every job, which is what lets the gateway advance its durable seq.
 */
export class DeliveryProducer {
  private readonly routes: TargetRoute[];

  constructor(private readonly options: ProducerOptions) {
    this.routes = options.targets.map((target) => {
      const queue = new Queue<DeliveryJobData>(deliveryQueueName(target.id), {
        connection: options.connection,
        prefix: options.prefix,
      });
      // Connection errors surface as rejected adds, which the caller handles; without a listener BullMQ
      // would print each one to the console.
      queue.on('error', () => undefined);
      return { target, queue, wants: createTargetFilter(target) };
    });
  }

  /** The ids of the targets this event was enqueued for (already-seen events count: the add is a no-op). */
  async enqueue(event: NormalizedEvent, rawFrame?: unknown): Promise<string[]> {
    const { envelope, dedupeKey } = event;
    const matched = this.routes.filter((route) => route.wants(envelope));
    if (matched.length === 0) return [];
    const plainBody = matched.some((route) => !route.target.includeRaw) ? JSON.stringify(envelope) : '';
    const enqueuedAt = Date.now();
    await Promise.all(
      matched.map((route) => {
        const body = route.target.includeRaw
          ? JSON.stringify({ ...envelope, raw: rawFrame ?? null })
          : plainBody;
        const data: DeliveryJobData = {
          eventId: envelope.id,
          type: envelope.type,
          qqType: envelope.qq_type,
          body,
          enqueuedAt,
        };
        return route.queue.add(
          envelope.type,
          data,
          deliveryJobOptions(route.target, envelope.id, dedupeKey, this.options.dedupeWindowMs),
        );
      }),
    );
    return matched.map((route) => route.target.id);
  }

  async close(): Promise<void> {
    await Promise.all(this.routes.map((route) => route.queue.close()));
  }
}
