import type { RedisClient } from '../../redis/client.js';
import type { Logger } from '../../log.js';
import type { OutboundQueue } from '../../outbound/send-queue.js';
import type { QqCaller } from './qq-caller.js';

/** What the send API's handlers share. */
export interface ApiContext {
  /** The bot's outbound queue, opened on first use. */
  outbound(): OutboundQueue;
  /** The connection the queue uses; Idempotency-Key bindings live on it too. */
  readonly redis: RedisClient;
  /** `redis.prefix`. */
  readonly prefix: string;
  /** `qq.app_id`. */
  readonly appId: string;
  readonly qq: QqCaller;
  readonly log: Logger;
  /** How long a Redis call may take before the request is answered 503. */
  readonly storeTimeoutMs: number;
  /** Aborted when the API closes: requests waiting for a send answer at once. */
  readonly closing: AbortSignal;
}
