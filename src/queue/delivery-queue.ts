import { Queue } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import type { DeliveryJobData } from './job.js';
import { deliveryQueueName } from './names.js';

/** One target's BullMQ delivery queue. */
export type DeliveryQueue = Queue<DeliveryJobData>;

/**
 * Opens a handle on target `targetId`'s delivery queue under the key prefix; the producer, the dead-letter
 * commands, the queue-depth metric and the dashboard all reach the queue through it.
 */
export function deliveryQueue(targetId: string, prefix: string, connection: Redis | Cluster): DeliveryQueue {
  return new Queue<DeliveryJobData>(deliveryQueueName(targetId), { connection, prefix });
}
