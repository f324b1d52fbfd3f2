import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { OutboundJobData, OutboundSent } from '../../src/outbound/message.js';
import {
  OutboundQueue,
  outboundQueueName,
  type InteractionRequest,
  type MessageRequest,
} from '../../src/outbound/send-queue.js';
import { waitFor } from '../delivery/fixtures.js';
import { redisConnection } from '../helpers/redis.js';
import { outboundQueuePrefix } from '../../src/redis/keys.js';

/**
 * What the stand-in outbound worker does on one attempt: `send` completes the job as QQ's acceptance would,
 * `retry <reason>` fails the attempt so BullMQ retries it, `refuse <reason>` fails the job at once
 * (`UnrecoverableError`). Reasons are in the `<CODE>: <message>` form the outbound worker stores.
 */
export type AttemptStep = 'send' | `retry ${string}` | `refuse ${string}`;

/**
 * Real outbound dead letters: the bridge's producer (`OutboundQueue`) and a small BullMQ Worker on the same queue
 * standing in for the outbound worker. It records one JSON line per attempt in the job's log, as the outbound
 * worker does, and acts out the steps planned for the message's `content` (an acknowledgement's interaction id),
 * one per attempt; past the last step it repeats it, so a replayed message continues the plan.
 */
export interface OutboundDeadLetters {
  readonly producer: OutboundQueue;
  /** Enqueues `request` with the steps its attempts take; resolves with the outbound id. */
  enqueue(request: OutboundRequest, steps: readonly AttemptStep[]): Promise<string>;
  /** Enqueues and waits until the message is dead-lettered. */
  deadLetter(request: OutboundRequest, steps: readonly AttemptStep[]): Promise<string>;
  /** The state of a job (`failed` for a dead letter, `unknown` once deleted). */
  stateOf(id: string): Promise<string>;
  close(): Promise<void>;
}

/** A message or a button-click acknowledgement. */
export type OutboundRequest = MessageRequest | InteractionRequest;

/** What the steps of a request are planned under. */
function planKey(request: OutboundRequest): string {
  return 'interactionId' in request ? request.interactionId : String(request.body['content']);
}

/** A group message with `content` and, when `msgId` is given, passive (`msg_id`, a `msg_seq` is allocated). */
export function groupMessage(
  content: string,
  options: { msgId?: string; deadline?: number; source?: 'reply' | 'api' } = {},
): MessageRequest {
  return {
    scene: 'group',
    openid: 'GROUP_OPENID_1',
    body: { content, msg_type: 0, ...(options.msgId === undefined ? {} : { msg_id: options.msgId }) },
    source: options.source ?? 'api',
    dedupeId: content,
    ...(options.deadline === undefined ? {} : { deadline: options.deadline }),
    ...(options.msgId === undefined
      ? {}
      : { inbound: { eventId: `GROUP_AT_MESSAGE_CREATE:${options.msgId}` } }),
  };
}

/** Starts {@link OutboundDeadLetters} on bot `appId`'s outbound queue under `prefix`, two attempts a message. */
export function startOutboundDeadLetters(options: {
  prefix: string;
  appId: string;
  connection: Redis;
}): OutboundDeadLetters {
  const producer = new OutboundQueue({ ...options, attempts: 2 });
  const plans = new Map<string, readonly AttemptStep[]>();
  const attemptsSoFar = new Map<string, number>();

  const processor = async (job: Job<OutboundJobData>): Promise<OutboundSent> => {
    const key = job.data.kind === 'message' ? String(job.data.body['content']) : job.data.interactionId;
    const index = attemptsSoFar.get(key) ?? 0;
    attemptsSoFar.set(key, index + 1);
    const plan = plans.get(key) ?? ['send'];
    const step = plan[Math.min(index, plan.length - 1)]!;
    const attempt = job.attemptsMade + 1;
    const at = new Date().toISOString();
    if (step === 'send') {
      await job.log(
        JSON.stringify({ attempt, at, status: 200, latencyMs: 1, outcome: 'sent', qqId: `qq-${index}` }),
      );
      return { qqId: `qq-${index}`, timestamp: 1_700_000_000, attempt };
    }
    const [verb, ...rest] = step.split(' ');
    const reason = rest.join(' ');
    const code = reason.slice(0, reason.indexOf(':'));
    const outcome = verb === 'retry' ? 'retry' : 'failed';
    await job.log(
      JSON.stringify({ attempt, at, status: 200, latencyMs: 1, outcome, errorCode: code, error: reason }),
    );
    if (verb === 'retry') throw new Error(reason);
    throw new UnrecoverableError(reason);
  };
  const workerConnection = redisConnection({ worker: true });
  const worker = new Worker<OutboundJobData, OutboundSent>(outboundQueueName(options.appId), processor, {
    connection: workerConnection,
    prefix: outboundQueuePrefix(options.prefix, options.appId),
    // The producer asks for the outbound worker's backoff type by name; retries here follow at once.
    settings: { backoffStrategy: () => 10 },
  });

  const enqueue = (request: OutboundRequest, steps: readonly AttemptStep[]): Promise<string> => {
    plans.set(planKey(request), steps);
    return 'interactionId' in request
      ? producer.enqueueInteraction(request)
      : producer.enqueueMessage(request);
  };
  const stateOf = (id: string): Promise<string> => producer.queue.getJobState(id);

  return {
    producer,
    enqueue,
    async deadLetter(request, steps) {
      const id = await enqueue(request, steps);
      await waitFor(async () => (await stateOf(id)) === 'failed');
      return id;
    },
    stateOf,
    async close() {
      await worker.close();
      await producer.close();
      workerConnection.disconnect();
    },
  };
}
