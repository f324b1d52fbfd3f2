import { Queue } from 'bullmq';
import type { RedisClient } from '../redis/client.js';
import type { DeliveryJobData } from './job.js';
import { deliveryQueueName } from './names.js';
import { targetQueuePrefix } from '../redis/keys.js';
import { legacyQueuePrefix } from '../redis/legacy-keys.js';

/** One target's BullMQ delivery queue. */
export type DeliveryQueue = Queue<DeliveryJobData>;

/**
 * Opens a handle on target `targetId`'s delivery queue under the key prefix; the producer, the dead-letter
 * commands, the queue-depth metric and the dashboard all reach the queue through it.
 */
export function deliveryQueue(targetId: string, prefix: string, connection: RedisClient): DeliveryQueue {
  return new Queue<DeliveryJobData>(deliveryQueueName(targetId), {
    connection,
    prefix: targetQueuePrefix(prefix, targetId),
  });
}

/**
 * The same target's queue in the layout before per-target hash tags, which an upgraded deployment may still hold
 * jobs and dead letters in (see legacy-drain.ts).
 */
export function legacyDeliveryQueue(
  targetId: string,
  prefix: string,
  connection: RedisClient,
): DeliveryQueue {
  return new Queue<DeliveryJobData>(deliveryQueueName(targetId), {
    connection,
    prefix: legacyQueuePrefix(prefix),
  });
}
