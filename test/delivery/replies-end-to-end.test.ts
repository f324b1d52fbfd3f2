/**
 * Replies in a target's answer, end to end: the simulator emits an event, the bridge delivers it to a loopback
 * receiver whose 2xx answer carries replies, and the bot's outbound queue in Redis must then hold exactly the
 * messages QQ would accept — or the refusal must be recorded on the delivery and reported as
 * `bridge.message.failed` to the targets that subscribe to `bridge.*`.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import type { Envelope } from '../../src/events/envelope.js';
import { silentLogger } from '../../src/log.js';
import type { OutboundJobData, OutboundMessageJob } from '../../src/outbound/message.js';
import { outboundQueueName } from '../../src/outbound/send-queue.js';
import { deliveryQueue } from '../../src/queue/delivery-queue.js';
import { jobIdForEvent } from '../../src/queue/names.js';
import { replaySince } from '../../src/queue/replay-since.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { testConfig, testTarget } from '../helpers/config.js';
import { eventually } from '../helpers/gateway.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { deletePrefix, freshPrefix, redisConnection } from '../helpers/redis.js';
import { schemaErrors } from '../events/envelope-schema.js';
import { outboundQueuePrefix } from '../../src/redis/keys.js';

const APP_ID = '102000000';
const GROUP = 'C9F778FE6ADF9D1D1DBE395BF744A33A';
const MEMBER = 'E4F4AEA33253A2797FB897C50B81D7ED';
const USER = '7D296480D464EC5C16714E74A43E5BC7';
const ALL_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed'] as const;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

interface World {
  sim: Simulator;
  app: App;
  prefix: string;
  redis: Redis;
  /** events `*`: answers each event with what `answers` holds for its id, else an empty 200. */
  backend: Receiver;
  /** events `bridge.*`: answers with a reply of its own, which the bridge must not act on. */
  results: Receiver;
  answers: Map<string, unknown>;
}

async function world(): Promise<World> {
  const sim = await startSimulator({ heartbeatIntervalMs: 1_000 });
  cleanups.push(() => sim.close());
  const answers = new Map<string, unknown>();
  const backend = await startReceiver((req) => {
    const envelope = JSON.parse(req.body) as Envelope;
    const answer = answers.get(envelope.id);
    return { status: 200, body: answer === undefined ? '' : JSON.stringify(answer) };
  });
  cleanups.push(() => backend.close());
  const results = await startReceiver(() => ({
    status: 200,
    body: '{"reply":{"content":"a reply to a result"}}',
  }));
  cleanups.push(() => results.close());
  const prefix = freshPrefix('replies');
  cleanups.push(() => deletePrefix(prefix));
  const redis = redisConnection();
  cleanups.push(async () => {
    await redis.quit();
  });
  const app = createApp({
    config: testConfig({
      simulatorOrigin: sim.origin,
      prefix,
      targets: [
        testTarget({ id: 'backend', url: backend.url, events: ['*'] }),
        testTarget({ id: 'results', url: results.url, events: ['bridge.*'] }),
      ],
    }),
    withoutHttp: true,
    role: 'all',
    logger: silentLogger(),
    sessionOverrides: { reconnectScheduleMs: [20, 50], invalidSessionDelayMs: [10, 20] },
  });
  cleanups.push(() => app.stop());
  await app.start();
  await eventually(() => app.shards().every((s) => s.status === 'ready'), 'shard ready');
  return { sim, app, prefix, redis, backend, results, answers };
}

/** Emits `t` with frame id `id`, which the backend answers with `answer`; resolves once the delivery completed. */
async function emitAnswered(
  w: World,
  t: string,
  d: Record<string, unknown>,
  id: string,
  answer: unknown,
): Promise<void> {
  w.answers.set(id, answer);
  w.sim.emit(t, d, { id });
  await delivered(w, 'backend', id);
}

async function delivered(w: World, target: string, eventId: string): Promise<void> {
  const queue = deliveryQueue(target, w.prefix, w.redis);
  try {
    const jobId = jobIdForEvent(eventId);
    const deadline = Date.now() + 10_000;
    while ((await queue.getJobState(jobId)) !== 'completed') {
      if (Date.now() > deadline) throw new Error(`delivery of ${eventId} to ${target} did not complete`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    await queue.close();
  }
}

/** Every job of the bot's outbound queue, whatever its state, oldest first. */
async function outboundJobs(w: World): Promise<OutboundJobData[]> {
  const queue = new Queue<OutboundJobData>(outboundQueueName(APP_ID), {
    connection: w.redis,
    prefix: outboundQueuePrefix(w.prefix, APP_ID),
  });
  try {
    const jobs = await queue.getJobs([...ALL_STATES]);
    const seq = (data: OutboundJobData): number =>
      data.kind === 'message' ? Number(data.body['msg_seq'] ?? 0) : Number.MAX_SAFE_INTEGER;
    return jobs.map((job) => job.data).sort((a, b) => a.enqueuedAt - b.enqueuedAt || seq(a) - seq(b));
  } finally {
    await queue.close();
  }
}

/** The JSON lines the delivery job of `eventId` to `target` logged. */
async function deliveryLog(w: World, target: string, eventId: string): Promise<Record<string, unknown>[]> {
  const queue = deliveryQueue(target, w.prefix, w.redis);
  try {
    const { logs } = await queue.getJobLogs(jobIdForEvent(eventId));
    return logs.map((line) => JSON.parse(line) as Record<string, unknown>);
  } finally {
    await queue.close();
  }
}

async function repliesMetric(w: World, target: string, outcome: string): Promise<number> {
  const text = await w.app.metrics.render();
  const line = text
    .split('\n')
    .find(
      (l) =>
        l.startsWith('qqwb_replies_total{') &&
        l.includes(`target="${target}"`) &&
        l.includes(`outcome="${outcome}"`),
    );
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

function groupMessage(msgId: string, content = ' hi'): Record<string, unknown> {
  return {
    id: msgId,
    group_openid: GROUP,
    author: { member_openid: MEMBER },
    content,
    timestamp: new Date().toISOString(),
  };
}

const bodies = (r: Receiver): Envelope[] => r.requests.map((req) => JSON.parse(req.body) as Envelope);

/** The `bridge.message.failed` envelopes `r` received (a worker sending the queue would add `…sent` ones). */
const failures = (r: Receiver): Envelope[] => bodies(r).filter((e) => e.type === 'bridge.message.failed');

async function failuresArrived(r: Receiver, count: number): Promise<Envelope[]> {
  await eventually(() => failures(r).length >= count, `${count} bridge.message.failed`);
  return failures(r);
}

describe('replies in a target answer', () => {
  it('stores {"reply"} to a group @-message as one passive group message: msg_id = d.id, msg_seq 1, deadline', async () => {
    const w = await world();
    const d = groupMessage('ROBOT1.0_at1');
    await emitAnswered(w, 'GROUP_AT_MESSAGE_CREATE', d, 'GROUP_AT_MESSAGE_CREATE:e1', {
      reply: { content: 'hi' },
    });

    const jobs = await outboundJobs(w);
    expect(jobs).toEqual([
      {
        kind: 'message',
        id: expect.stringMatching(/^ob_[0-9a-f]{32}$/) as unknown,
        scene: 'group',
        openid: GROUP,
        body: { content: 'hi', msg_type: 0, msg_id: 'ROBOT1.0_at1', msg_seq: 1 },
        source: 'reply',
        inbound: { eventId: 'GROUP_AT_MESSAGE_CREATE:e1', targetId: 'backend' },
        deadline: Date.parse(d['timestamp'] as string) + 5 * 60_000,
        enqueuedAt: expect.any(Number) as unknown,
      },
    ]);
    const log = await deliveryLog(w, 'backend', 'GROUP_AT_MESSAGE_CREATE:e1');
    expect(log).toEqual([
      { attempt: 1, at: expect.any(String) as unknown, replies: { enqueued: [jobs[0]!.id], failed: [] } },
    ]);
    expect(await repliesMetric(w, 'backend', 'enqueued')).toBe(1);
    expect(failures(w.results)).toEqual([]);
    // The answer is read for its replies, never stored: the attempt record keeps only its first 1 KiB as `body`.
    const queue = deliveryQueue('backend', w.prefix, w.redis);
    cleanups.push(() => queue.close());
    const job = await queue.getJob(jobIdForEvent('GROUP_AT_MESSAGE_CREATE:e1'));
    expect(job?.returnvalue).toEqual({
      attempt: 1,
      at: expect.any(String) as unknown,
      status: 200,
      latencyMs: expect.any(Number) as unknown,
      outcome: 'delivered',
      body: '{"reply":{"content":"hi"}}',
    });
  });

  it('numbers {"replies": [a, b]} msg_seq 1 and 2, and answers a C2C message to the user', async () => {
    const w = await world();
    await emitAnswered(
      w,
      'GROUP_AT_MESSAGE_CREATE',
      groupMessage('ROBOT1.0_at2'),
      'GROUP_AT_MESSAGE_CREATE:e2',
      {
        replies: [{ content: 'a' }, { msg_type: 2, markdown: { content: '**b**' } }],
      },
    );
    await emitAnswered(
      w,
      'C2C_MESSAGE_CREATE',
      {
        id: 'ROBOT1.0_c1',
        author: { user_openid: USER },
        content: 'hi',
        timestamp: new Date().toISOString(),
      },
      'C2C_MESSAGE_CREATE:e3',
      { reply: { content: 'private' } },
    );

    const jobs = (await outboundJobs(w)) as OutboundMessageJob[];
    expect(jobs.map((j) => [j.scene, j.openid, j.body])).toEqual([
      ['group', GROUP, { content: 'a', msg_type: 0, msg_id: 'ROBOT1.0_at2', msg_seq: 1 }],
      ['group', GROUP, { msg_type: 2, markdown: { content: '**b**' }, msg_id: 'ROBOT1.0_at2', msg_seq: 2 }],
      ['c2c', USER, { content: 'private', msg_type: 0, msg_id: 'ROBOT1.0_c1', msg_seq: 1 }],
    ]);
    // C2C replies are accepted for 60 minutes.
    const c2c = bodies(w.backend).find((e) => e.qq_type === 'C2C_MESSAGE_CREATE')!;
    expect(jobs[2]!.deadline).toBe(Date.parse(c2c.occurred_at) + 60 * 60_000);
  });

  it('answers GROUP_ADD_ROBOT with event_id = the frame id', async () => {
    const w = await world();
    const id = 'GROUP_ADD_ROBOT:39ab91b8-36ee-44d6-80e9-4447a2f2c571';
    await emitAnswered(
      w,
      'GROUP_ADD_ROBOT',
      { group_openid: GROUP, op_member_openid: MEMBER, timestamp: Math.floor(Date.now() / 1000) },
      id,
      { reply: { content: 'thanks for adding me' } },
    );
    const jobs = (await outboundJobs(w)) as OutboundMessageJob[];
    expect(jobs.map((j) => [j.scene, j.openid, j.body])).toEqual([
      ['group', GROUP, { content: 'thanks for adding me', msg_type: 0, event_id: id, msg_seq: 1 }],
    ]);
  });

  it('refuses a reply to GROUP_DEL_ROBOT: recorded, counted, reported to bridge.* targets only, never looped', async () => {
    const w = await world();
    const id = 'GROUP_DEL_ROBOT:7c7a9b5e-0c2e-4d64-9f0b-6b1d5e2a4c11';
    await emitAnswered(
      w,
      'GROUP_DEL_ROBOT',
      { group_openid: GROUP, op_member_openid: MEMBER, timestamp: Math.floor(Date.now() / 1000) },
      id,
      { reply: { content: 'bye' } },
    );
    expect(await outboundJobs(w)).toEqual([]);
    const [record] = await deliveryLog(w, 'backend', id);
    expect(record).toMatchObject({
      replies: {
        enqueued: [],
        failed: [
          {
            outcome: 'refused',
            outbound_id: expect.stringMatching(/^ob_/) as unknown,
            code: 'BRIDGE_ERR_REPLY_REFUSED',
            reason: expect.stringContaining('QQ does not accept replies to GROUP_DEL_ROBOT') as unknown,
          },
        ],
      },
    });
    const failed = (record!['replies'] as { failed: { outbound_id: string; reason: string }[] }).failed[0]!;

    const [report] = await failuresArrived(w.results, 1);
    expect(report).toMatchObject({
      id: `bridge.message.failed:${failed.outbound_id}`,
      type: 'bridge.message.failed',
      qq_type: 'BRIDGE_MESSAGE_FAILED',
      app_id: APP_ID,
      shard: [0, 1],
      seq: null,
      data: {
        outbound_id: failed.outbound_id,
        kind: 'message',
        source: 'reply',
        scene: 'group',
        openid: GROUP,
        reply_to: { event_id: id, target_id: 'backend' },
        error: { code: 'BRIDGE_ERR_REPLY_REFUSED', message: failed.reason },
        attempts: 0,
      },
    });
    expect(schemaErrors(report)).toEqual([]);

    // The results target answered the report with a reply: refused, recorded, but not reported (no loop).
    await delivered(w, 'results', report!.id);
    const [ownRecord] = await deliveryLog(w, 'results', report!.id);
    expect(ownRecord).toMatchObject({
      replies: {
        failed: [{ outcome: 'refused', reason: expect.stringContaining("bridge's own events") as unknown }],
      },
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(w.results.requests).toHaveLength(1);
    // The `*` target never receives the bridge's own events.
    expect(bodies(w.backend).map((e) => e.type)).toEqual(['group.bot.removed']);
    expect(await repliesMetric(w, 'backend', 'refused')).toBe(1);
    expect(await repliesMetric(w, 'results', 'refused')).toBe(1);
  });

  it('completes a delivery whose answer is malformed, sends what is valid and reports each problem', async () => {
    const w = await world();
    const id = 'GROUP_AT_MESSAGE_CREATE:e5';
    await emitAnswered(w, 'GROUP_AT_MESSAGE_CREATE', groupMessage('ROBOT1.0_at5'), id, {
      replies: [{ content: 'fine' }, 'text', { msg_type: 0 }],
      interaction: { code: 0 },
    });
    const jobs = (await outboundJobs(w)) as OutboundMessageJob[];
    expect(jobs.map((j) => j.body)).toEqual([
      { content: 'fine', msg_type: 0, msg_id: 'ROBOT1.0_at5', msg_seq: 1 },
    ]);
    const [record] = await deliveryLog(w, 'backend', id);
    const failed = (record!['replies'] as { failed: { outcome: string; reason: string }[] }).failed;
    expect(failed.map((f) => f.outcome)).toEqual(['malformed', 'malformed', 'malformed']);
    expect(failed.map((f) => f.reason)).toEqual([
      expect.stringContaining('replies[1] is not a JSON object'),
      expect.stringContaining('replies[2]: the message has nothing to send'),
      expect.stringContaining('"interaction" acknowledges only INTERACTION_CREATE events'),
    ]);
    const reports = await failuresArrived(w.results, 3);
    expect(new Set(reports.map((e) => e.data['outbound_id'])).size).toBe(3);
    expect(await repliesMetric(w, 'backend', 'malformed')).toBe(3);
    expect(await repliesMetric(w, 'backend', 'enqueued')).toBe(1);
  });

  it('stores 5 of 6 replies and reports the sixth over QQ limit', async () => {
    const w = await world();
    const id = 'GROUP_AT_MESSAGE_CREATE:e6';
    const replies = [1, 2, 3, 4, 5, 6].map((n) => ({ content: `r${n}` }));
    await emitAnswered(w, 'GROUP_AT_MESSAGE_CREATE', groupMessage('ROBOT1.0_at6'), id, { replies });
    const jobs = (await outboundJobs(w)) as OutboundMessageJob[];
    expect(jobs.map((j) => [j.body['content'], j.body['msg_seq']])).toEqual([
      ['r1', 1],
      ['r2', 2],
      ['r3', 3],
      ['r4', 4],
      ['r5', 5],
    ]);
    const [record] = await deliveryLog(w, 'backend', id);
    expect(record).toMatchObject({
      replies: { failed: [{ outcome: 'over_limit', code: 'BRIDGE_ERR_REPLY_LIMIT' }] },
    });
    const [report] = await failuresArrived(w.results, 1);
    expect(report!.data['error']).toMatchObject({ code: 'BRIDGE_ERR_REPLY_LIMIT' });
    expect(await repliesMetric(w, 'backend', 'over_limit')).toBe(1);
  });

  it('stores the replies of a delivery that runs again (same webhook-id) once', async () => {
    const w = await world();
    const id = 'GROUP_AT_MESSAGE_CREATE:e7';
    await emitAnswered(w, 'GROUP_AT_MESSAGE_CREATE', groupMessage('ROBOT1.0_at7'), id, {
      replies: [{ content: 'one' }, { content: 'two' }],
    });
    const first = await outboundJobs(w);
    const queue = deliveryQueue('backend', w.prefix, w.redis);
    cleanups.push(() => queue.close());
    expect(await replaySince(queue, 0)).toBe(1);
    await w.backend.waitFor(2);
    await delivered(w, 'backend', id);

    expect(w.backend.requests.map((r) => r.headers['webhook-id'])).toEqual([id, id]);
    expect(await outboundJobs(w)).toEqual(first);
    expect(first).toHaveLength(2);
    const records = await deliveryLog(w, 'backend', id);
    expect(records.map((r) => (r['replies'] as { enqueued: string[] }).enqueued)).toEqual([
      first.map((j) => j.id),
      first.map((j) => j.id),
    ]);
  });

  it('stores {"interaction": {"code": 0}} to INTERACTION_CREATE as an acknowledgement of d.id', async () => {
    const w = await world();
    const id = 'INTERACTION_CREATE:5fd23877-f35a-42c0-bd7c-d39d22f459a5';
    await emitAnswered(
      w,
      'INTERACTION_CREATE',
      {
        id: 'c899f03f-7cae-431b-9982-c4fc8b28de21',
        type: 11,
        chat_type: 1,
        scene: 'group',
        timestamp: new Date().toISOString(),
        group_openid: GROUP,
        group_member_openid: MEMBER,
        data: { type: 11, resolved: { button_id: 'b1' } },
      },
      id,
      { interaction: { code: 0 }, reply: { content: 'clicked' } },
    );
    const jobs = await outboundJobs(w);
    expect(jobs).toHaveLength(2);
    expect(jobs.find((j) => j.kind === 'interaction')).toEqual({
      kind: 'interaction',
      id: expect.stringMatching(/^ob_/) as unknown,
      interactionId: 'c899f03f-7cae-431b-9982-c4fc8b28de21',
      code: 0,
      source: 'reply',
      inbound: { eventId: id, targetId: 'backend' },
      enqueuedAt: expect.any(Number) as unknown,
    });
    expect(jobs.find((j) => j.kind === 'message')).toMatchObject({
      scene: 'group',
      body: { content: 'clicked', event_id: id, msg_seq: 1 },
    });
  });
});
