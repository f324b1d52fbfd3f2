/**
 * The outbound path end to end against the project's QQ simulator: a real bridge (gateway, readiness in Redis,
 * outbound worker) sends what the outbound queue holds, and the simulator says what QQ would have stored.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createApp, type App, type Role } from '../../src/app.js';
import type { BridgeConfig } from '../../src/config/types.js';
import { silentLogger } from '../../src/log.js';
import { GatewayReadiness } from '../../src/outbound/gateway-ready.js';
import type { OutboundSent } from '../../src/outbound/message.js';
import { OutboundQueue } from '../../src/outbound/send-queue.js';
import { readOutboundStatus } from '../../src/outbound/status.js';
import { replayDeadLetters } from '../../src/queue/dlq.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { waitFor } from '../delivery/fixtures.js';
import { testConfig } from '../helpers/config.js';
import { deletePrefix, freshPrefix, redisConnection } from '../helpers/redis.js';

const APP_ID = '102000000';
const GROUP = 'C9F778FE6ADF9D1D1DBE395BF744A33A';
const MEMBER = 'E4F4AEA33253A2797FB897C50B81D7ED';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

interface World {
  sim: Simulator;
  config: BridgeConfig;
  queue: OutboundQueue;
  readiness: GatewayReadiness;
}

async function world(): Promise<World> {
  const sim = await startSimulator({ heartbeatIntervalMs: 60_000 });
  cleanups.push(() => sim.close());
  const prefix = freshPrefix('outsim');
  cleanups.push(() => deletePrefix(prefix));
  const base = testConfig({ simulatorOrigin: sim.origin, prefix, appId: APP_ID });
  const config: BridgeConfig = {
    ...base,
    outbound: { ...base.outbound, retry: { attempts: 5, baseMs: 20, maxMs: 5000 } },
  };
  const redis = redisConnection();
  cleanups.push(() => redis.quit());
  const queue = new OutboundQueue({ connection: redis, prefix, appId: APP_ID, attempts: 5 });
  cleanups.push(() => queue.close());
  return { sim, config, queue, readiness: new GatewayReadiness(redis, prefix, APP_ID) };
}

async function bridge(w: World, role: Role): Promise<App> {
  const app = createApp({
    config: w.config,
    role,
    logger: silentLogger(),
    withoutHttp: true,
    sessionOverrides: { reconnectScheduleMs: [20, 50], invalidSessionDelayMs: [10, 20] },
  });
  cleanups.push(() => app.stop());
  await app.start();
  return app;
}

/** An @-message from a group member, which a passive reply names by its `d.id`. */
function inbound(sim: Simulator, msgId: string): void {
  sim.emit('GROUP_AT_MESSAGE_CREATE', {
    id: msgId,
    group_openid: GROUP,
    author: { member_openid: MEMBER },
    content: ' ping',
    timestamp: '2025-03-13T23:30:49+08:00',
  });
}

function reply(w: World, msgId: string, deadline = Date.now() + 5 * 60_000): Promise<string> {
  return w.queue.enqueueMessage({
    scene: 'group',
    openid: GROUP,
    body: { content: 'pong', msg_type: 0, msg_id: msgId },
    source: 'reply',
    inbound: { eventId: `GROUP_AT_MESSAGE_CREATE:${msgId}`, targetId: 'backend' },
    deadline,
  });
}

async function finished(w: World, id: string, state: 'completed' | 'failed'): Promise<void> {
  await waitFor(async () => (await w.queue.queue.getJobState(id)) === state, 15_000);
}

async function ready(w: World): Promise<App> {
  const app = await bridge(w, 'all');
  await waitFor(() => w.readiness.isReady());
  return app;
}

describe('outbound sends against the simulator', () => {
  it("sends a reply and completes it with QQ's message id", async () => {
    const w = await world();
    await ready(w);
    inbound(w.sim, 'MSG-1');

    const id = await reply(w, 'MSG-1');
    await finished(w, id, 'completed');

    const [stored] = w.sim.delivered();
    expect(w.sim.delivered()).toHaveLength(1);
    expect(stored?.body).toEqual({ content: 'pong', msg_type: 0, msg_id: 'MSG-1', msg_seq: 1 });
    const sent = (await w.queue.queue.getJob(id))?.returnvalue as OutboundSent;
    expect(sent.qqId).toBe(stored?.id);
    expect(await readOutboundStatus(w.queue.queue, id)).toMatchObject({
      status: 'sent',
      attempts: 1,
      qq: { id: stored?.id },
    });
  });

  it('keeps msg_seq across retries: two 500s, then sent; QQ sees the same msg_seq three times', async () => {
    const w = await world();
    await ready(w);
    inbound(w.sim, 'MSG-2');
    w.sim.fault('send_error', { status: 500, times: 2 });

    const id = await reply(w, 'MSG-2');
    await finished(w, id, 'completed');

    const seen = w.sim.messages().messages;
    expect(seen.map((m) => [m.outcome, m.status])).toEqual([
      ['rejected', 500],
      ['rejected', 500],
      ['delivered', 200],
    ]);
    expect(seen.map((m) => (m.body as { msg_seq: number }).msg_seq)).toEqual([1, 1, 1]);
    expect((await w.queue.queue.getJob(id))?.returnvalue).toMatchObject({ attempt: 3 });
  });

  it('a send QQ stored but answered 500 is retried, answered 40054005 and counted sent: one message at QQ', async () => {
    const w = await world();
    await ready(w);
    inbound(w.sim, 'MSG-3');
    w.sim.fault('send_stored_error');

    const id = await reply(w, 'MSG-3');
    await finished(w, id, 'completed');

    expect(w.sim.delivered()).toHaveLength(1);
    expect(w.sim.messages().messages.map((m) => [m.outcome, m.status, m.code])).toEqual([
      ['delivered', 500, undefined],
      ['rejected', 400, 40054005],
    ]);
    expect((await w.queue.queue.getJob(id))?.returnvalue).toEqual({ attempt: 2, duplicate: true });
    expect(await readOutboundStatus(w.queue.queue, id)).toMatchObject({
      status: 'sent',
      qq: { duplicate: true },
    });
  });

  it('a replayed dead letter that reached QQ is answered 40054005 and counted sent, not failed again', async () => {
    const w = await world();
    await ready(w);
    inbound(w.sim, 'MSG-R');
    w.sim.fault('send_stored_error');
    // one attempt: the stored-but-500 send dead-letters at once
    const redis = redisConnection();
    cleanups.push(() => redis.quit());
    const once = new OutboundQueue({
      connection: redis,
      prefix: w.config.redis.prefix,
      appId: APP_ID,
      attempts: 1,
    });
    cleanups.push(() => once.close());

    const id = await once.enqueueMessage({
      scene: 'group',
      openid: GROUP,
      body: { content: 'pong', msg_type: 0, msg_id: 'MSG-R' },
      source: 'api',
    });
    await finished(w, id, 'failed');
    expect(w.sim.delivered()).toHaveLength(1);

    // what `dlq replay --outbound` does: attempts start from 1 again
    expect(await replayDeadLetters(once.queue, { jobId: id })).toBe(1);
    await finished(w, id, 'completed');
    expect(w.sim.delivered()).toHaveLength(1);
    expect((await once.queue.getJob(id))?.returnvalue).toEqual({ attempt: 1, duplicate: true });
  });

  it('fails a business error at once: a reply to a msg_id QQ does not know', async () => {
    const w = await world();
    await ready(w);

    const id = await reply(w, 'NEVER-EMITTED');
    await finished(w, id, 'failed');

    expect(w.sim.messages().messages).toHaveLength(1);
    expect(await readOutboundStatus(w.queue.queue, id)).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: { code: 'QQ_40034024' },
    });
  });

  it('fails a reply past its deadline with BRIDGE_ERR_REPLY_EXPIRED without calling QQ', async () => {
    const w = await world();
    await ready(w);
    inbound(w.sim, 'MSG-4');

    const id = await reply(w, 'MSG-4', Date.now() - 1);
    await finished(w, id, 'failed');

    expect(w.sim.state().sendRequests).toBe(0);
    expect(await readOutboundStatus(w.queue.queue, id)).toMatchObject({
      status: 'failed',
      error: { code: 'BRIDGE_ERR_REPLY_EXPIRED' },
    });
  });

  it('holds a message while no gateway is READY and sends it once one is: nothing dropped', async () => {
    const w = await world();
    await bridge(w, 'worker');
    inbound(w.sim, 'MSG-5');
    const id = await reply(w, 'MSG-5');
    // looked at and held a few times while no session exists at QQ (or, were it not held, sent and lost)
    await waitFor(async () => {
      const job = await w.queue.queue.getJob(id);
      return (job?.attemptsStarted ?? 0) >= 3 || (await job?.getState()) === 'completed';
    });
    expect(w.sim.messages().messages.filter((m) => m.outcome === 'dropped')).toEqual([]);
    expect(w.sim.state().sendRequests).toBe(0);
    expect((await w.queue.queue.getJob(id))?.attemptsMade).toBe(0);

    const gateway = await bridge(w, 'gateway');
    await finished(w, id, 'completed');

    expect(gateway.shards().map((s) => s.status)).toEqual(['ready']);
    expect(w.sim.messages().messages.map((m) => m.outcome)).toEqual(['delivered']);
    expect((await w.queue.queue.getJob(id))?.returnvalue).toMatchObject({ attempt: 1 });
  });

  it('the gateway marks the bot READY in Redis while its shard is, and not READY once stopped', async () => {
    const w = await world();
    const gateway = await bridge(w, 'gateway');
    await waitFor(() => w.readiness.isReady());

    await gateway.stop();
    expect(await w.readiness.isReady()).toBe(false);
  });

  it("schedules the retry after QQ's 429 at its Retry-After", async () => {
    const w = await world();
    await ready(w);
    inbound(w.sim, 'MSG-6');
    w.sim.fault('send_rate_limited', { retry_after: 2 });

    const id = await reply(w, 'MSG-6');
    await waitFor(async () => (await w.queue.queue.getJobState(id)) === 'delayed');

    const job = await w.queue.queue.getJob(id);
    // the backoff alone is at most 20 ms (retry.base): the 2 s come from Retry-After
    expect(job?.delay).toBe(2000);
    await job?.promote();
    await finished(w, id, 'completed');
    expect(w.sim.delivered()).toHaveLength(1);
  });

  it('acknowledges a button click', async () => {
    const w = await world();
    await ready(w);
    w.sim.emit('INTERACTION_CREATE', { id: 'INT-1', group_openid: GROUP, type: 11, data: {} });

    const id = await w.queue.enqueueInteraction({ interactionId: 'INT-1', code: 0, source: 'reply' });
    await finished(w, id, 'completed');

    expect(w.sim.messages().interactions.map((ack) => [ack.interactionId, ack.outcome])).toEqual([
      ['INT-1', 'acked'],
    ]);
  });
});
