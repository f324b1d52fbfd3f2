import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { GatewayReadiness } from '../../src/outbound/gateway-ready.js';
import type { OutboundJobData } from '../../src/outbound/message.js';
import { openOutboundQueue } from '../../src/outbound/send-queue.js';
import { ChaosWorld } from './world.js';

/**
 * docs/design.md §1 and docs/qq-protocol.md §7.2, proven by killing the real thing: a backend answers every
 * @-message with `{"reply": {"content": "echo <n>"}}`, a real bridge process sends those replies to the simulator
 * as QQ, and the process or Redis dies meanwhile, with ambiguous failures (stored at QQ, answered 500) in the
 * mix. At QQ every @-message must then have exactly one reply, with its content: lost 0, duplicated 0.
 */
let world: ChaosWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const APP_ID = '102000000';
const GROUP = 'C9F778FE6ADF9D1D1DBE395BF744A33A';
const MEMBER = 'E4F4AEA33253A2797FB897C50B81D7ED';
const EVENTS = 200;

/** Retries fast enough to finish within the scenario; `perSecond` below the stream's rate builds a backlog. */
const outbound = (perSecond: number): string => `outbound:
  concurrency: 8
  rate_limit: { max: ${perSecond}, per: 1s }
  retry: { attempts: 30, base: 100ms, max: 1s }
`;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const msgIdOf = (n: number): string => `ROBOT1.0_chaos-${n}`;

/** What reached QQ for the streamed @-messages. */
interface OutboundChaosReport {
  /** @-messages emitted. */
  sent: number;
  /** Replies QQ stored for them. */
  repliesAtQq: number;
  /** @-messages without a reply at QQ. */
  lost: number;
  /** @-messages with more than one reply at QQ. */
  duplicated: number;
  /** Replies at QQ whose content is not the `echo <n>` of their @-message. */
  wrongContent: number;
  /** Sends QQ answered 200 and dropped because no gateway session was connected. */
  dropped: number;
  /** Sends QQ stored but answered 500 (the injected ambiguous failures). */
  ambiguous: number;
  /** Repeated sends QQ refused with 40054005 because it had them already. */
  repeatsRefused: number;
  /** Outbound jobs that ended failed. */
  failedJobs: number;
  /** Inbound webhooks (the other direction): lost, and delivered again after a kill. */
  webhooksLost: number;
  webhooksRedelivered: number;
}

/** The backend: `{"reply": {"content": "echo <n>"}}` to the @-message ` <n>`, a plain 200 to anything else. */
function replyEcho(body: string): unknown {
  const envelope = JSON.parse(body) as { qq_type?: string; data?: { message?: { content?: string } } };
  if (envelope.qq_type !== 'GROUP_AT_MESSAGE_CREATE') return undefined;
  return { reply: { content: `echo ${(envelope.data?.message?.content ?? '').trim()}` } };
}

/** Emits @-messages 0 … count−1, `intervalMs` apart; `during(i)` runs before message i (to inject faults). */
async function streamAtMessages(
  w: ChaosWorld,
  count: number,
  intervalMs: number,
  during: (i: number) => Promise<void> | void,
): Promise<void> {
  for (let i = 0; i < count; i++) {
    await during(i);
    const { id } = w.sim.emit('GROUP_AT_MESSAGE_CREATE', {
      id: msgIdOf(i),
      group_openid: GROUP,
      author: { member_openid: MEMBER },
      content: ` ${i}`,
      timestamp: new Date().toISOString(),
    });
    w.sent.push(id);
    await sleep(intervalMs);
  }
}

/** Polls `check` every 50 ms until it holds; throws naming `what` after `timeoutMs`. */
async function until(
  w: ChaosWorld,
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${w.logTail('a')}`);
    await sleep(50);
  }
}

function outboundQueue(w: ChaosWorld): { queue: Queue<OutboundJobData>; close: () => Promise<void> } {
  const connection = new Redis(w.redis.url, { maxRetriesPerRequest: 1 });
  const queue = openOutboundQueue(APP_ID, w.prefix, connection);
  return {
    queue,
    close: async () => {
      await queue.close();
      connection.disconnect();
    },
  };
}

function repliesByMessage(w: ChaosWorld): Map<string, string[]> {
  const replies = new Map<string, string[]>();
  for (const message of w.sim.delivered()) {
    const body = message.body as { msg_id?: string; content?: string };
    if (body.msg_id === undefined) continue;
    replies.set(body.msg_id, [...(replies.get(body.msg_id) ?? []), String(body.content)]);
  }
  return replies;
}

async function report(w: ChaosWorld, count: number): Promise<OutboundChaosReport> {
  const replies = repliesByMessage(w);
  let lost = 0;
  let duplicated = 0;
  let wrongContent = 0;
  let repliesAtQq = 0;
  for (let n = 0; n < count; n++) {
    const contents = replies.get(msgIdOf(n)) ?? [];
    repliesAtQq += contents.length;
    if (contents.length === 0) lost++;
    if (contents.length > 1) duplicated++;
    wrongContent += contents.filter((c) => c !== `echo ${n}`).length;
  }
  const sends = w.sim.messages().messages;
  const { queue, close } = outboundQueue(w);
  let failedJobs: number;
  try {
    failedJobs = (await queue.getJobCounts('failed')).failed ?? 0;
  } finally {
    await close();
  }
  const webhooks = await w.report();
  return {
    sent: count,
    repliesAtQq,
    lost,
    duplicated,
    wrongContent,
    dropped: sends.filter((m) => m.outcome === 'dropped').length,
    ambiguous: sends.filter((m) => m.outcome === 'delivered' && m.status === 500).length,
    repeatsRefused: sends.filter((m) => m.code === 40054005).length,
    failedJobs,
    webhooksLost: webhooks.lost,
    webhooksRedelivered: webhooks.redeliveredAfterKill + webhooks.duplicated,
  };
}

/** Waits until every @-message has a reply at QQ (or the timeout), then a quiet second for late duplicates. */
async function settle(w: ChaosWorld, count: number, timeoutMs: number): Promise<OutboundChaosReport> {
  const deadline = Date.now() + timeoutMs;
  const answered = (): number => {
    const replies = repliesByMessage(w);
    let n = 0;
    for (let i = 0; i < count; i++) if (replies.has(msgIdOf(i))) n++;
    return n;
  };
  while (answered() < count && Date.now() < deadline) await sleep(100);
  await sleep(1_500);
  const result = await report(w, count);
  console.log(`chaos: ${JSON.stringify(result)}`);
  return result;
}

async function firstIdentify(w: ChaosWorld): Promise<void> {
  await w.sim.waitFor((s) => s.sessions.some((x) => x.connected), 20_000);
}

/**
 * Every @-message got exactly one reply at QQ, with its own content, none dropped or failed, and the run did meet
 * an ambiguous failure (stored at QQ, answered 500), so the exactly-once path was exercised.
 */
function expectEachReplyOnce(w: ChaosWorld, result: Awaited<ReturnType<typeof settle>>): void {
  expect(result, w.logTail('a')).toMatchObject({
    sent: EVENTS,
    repliesAtQq: EVENTS,
    lost: 0,
    duplicated: 0,
    wrongContent: 0,
    dropped: 0,
    failedJobs: 0,
    webhooksLost: 0,
  });
  expect(result.ambiguous).toBeGreaterThanOrEqual(1);
}

describe('chaos: every @-message answered exactly once at QQ', () => {
  it('kill -9 of an all-in-one process with replies queued, in flight and ambiguous, then restart', async () => {
    world = await ChaosWorld.create();
    const w = world;
    w.receiver.setAnswer(replyEcho);
    const config = outbound(10);
    let bridge = w.start('a', 'all', config);
    await firstIdentify(w);
    const { queue, close } = outboundQueue(w);
    const readinessRedis = new Redis(w.redis.url);
    const readiness = new GatewayReadiness(readinessRedis, w.prefix, APP_ID);
    let atKill: Record<string, number> = {};
    try {
      const pending = async (): Promise<Record<string, number>> =>
        queue.getJobCounts('active', 'waiting', 'delayed', 'completed');
      await streamAtMessages(w, EVENTS, 20, async (i) => {
        // the next sends are stored at QQ but answered 500: their retries run across the kill
        if (i === 90) w.sim.fault('send_stored_error', { times: 6 });
        if (i === 100) {
          await until(w, 'outbound messages queued or in flight', async () => {
            atKill = await pending();
            return (atKill['active'] ?? 0) + (atKill['waiting'] ?? 0) + (atKill['delayed'] ?? 0) > 0;
          });
          await w.kill9(bridge);
        }
        if (i === 130) {
          // A gateway killed with -9 cannot unmark itself: its READY mark counts until it runs out (at most 3 s).
          // QQ drops what is sent meanwhile, and no process can see that the session is gone, so the restart
          // waits for the mark to run out, as a restart that takes longer than that does.
          await until(
            w,
            'the killed gateway READY mark to run out',
            async () => !(await readiness.isReady()),
          );
          bridge = w.start('a', 'all', config);
        }
      });
    } finally {
      await close();
      readinessRedis.disconnect();
    }
    const result = await settle(w, EVENTS, 60_000);
    console.log(`chaos: outbound jobs when killed ${JSON.stringify(atKill)}`);
    expectEachReplyOnce(w, result);
    expect(w.sim.state().resumes).toBeGreaterThanOrEqual(1);
  }, 90_000);

  it('Redis killed and started again mid-stream, with ambiguous failures before and after', async () => {
    world = await ChaosWorld.create();
    const w = world;
    w.receiver.setAnswer(replyEcho);
    w.start('a', 'all', outbound(40));
    await firstIdentify(w);
    await streamAtMessages(w, EVENTS, 30, async (i) => {
      if (i === 70) w.sim.fault('send_stored_error', { times: 4 });
      if (i === 80) await w.redis.stop();
      if (i === 180) await w.redis.start();
      if (i === 185) w.sim.fault('send_stored_error', { times: 4 });
    });
    const result = await settle(w, EVENTS, 60_000);
    expectEachReplyOnce(w, result);
  }, 90_000);
});
