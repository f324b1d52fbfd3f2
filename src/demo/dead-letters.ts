/**
 * The demo's check that its one dead letter is really there: read from the target's dead-letter queue in Redis
 * through the same module as `dlq list` and `dlq show` (src/queue/dlq.ts), not inferred from the receiver's 422.
 */
import type { BridgeConfig } from '../config/types.js';
import {
  listDeadLetters,
  openDeliveryQueue,
  showDeadLetter,
  type DeadLetterDetail,
  type DeadLetterRow,
} from '../queue/dlq.js';
import { connectRedis } from '../redis/connections.js';

/** One target's dead letters, read while the demo runs. */
export interface DemoDeadLetters {
  /** Every dead letter of the target (the demo makes one; a few more would still be listed). */
  list(): Promise<DeadLetterRow[]>;
  /** The envelope and attempt log of one dead letter, or undefined. */
  show(eventId: string): Promise<DeadLetterDetail | undefined>;
  close(): Promise<void>;
}

/** Far more than the demo makes: a listing that hits it would say something else dead-lettered too. */
const LIST_LIMIT = 100;

/** Opens the dead-letter queue of `targetId` on a connection of its own. */
export async function openDemoDeadLetters(
  config: BridgeConfig,
  redisUrl: string,
  targetId: string,
): Promise<DemoDeadLetters> {
  const redis = connectRedis({ kind: 'single', url: redisUrl }, 'command');
  redis.on('error', () => undefined); // connect() and each call reject with the reason
  await redis.connect();
  const queue = openDeliveryQueue(config, targetId, redis);
  return {
    list: () => listDeadLetters(queue, { limit: LIST_LIMIT }),
    show: (eventId) => showDeadLetter(queue, eventId),
    async close() {
      await queue.close();
      redis.disconnect();
    },
  };
}
