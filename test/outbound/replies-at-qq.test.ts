/**
 * Replies in a target's answer, all the way to QQ: a real bridge (createApp) takes an @-message from the simulator,
 * delivers it to a backend that answers `{"reply": …}`, sends the reply with its own token, and reports what became
 * of it as `bridge.message.sent` / `bridge.message.failed` to the targets subscribed to `bridge.*`. The simulator
 * says what QQ stored.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp, type App, type Role } from '../../src/app.js';
import type { BridgeConfig } from '../../src/config/types.js';
import type { Envelope } from '../../src/events/envelope.js';
import { silentLogger } from '../../src/log.js';
import { GatewayReadiness } from '../../src/outbound/gateway-ready.js';
import { OutboundQueue } from '../../src/outbound/send-queue.js';
import { deliveryQueue } from '../../src/queue/delivery-queue.js';
import { jobIdForEvent } from '../../src/queue/names.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { waitFor } from '../delivery/fixtures.js';
import { schemaErrors } from '../events/envelope-schema.js';
import { testConfig, testTarget } from '../helpers/config.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { deletePrefix, freshPrefix, redisConnection } from '../helpers/redis.js';

const APP_ID = '102000000';
const GROUP = 'C9F778FE6ADF9D1D1DBE395BF744A33A';
const MEMBER = 'E4F4AEA33253A2797FB897C50B81D7ED';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/**
 * The backend (events `*`): answers every @-message with `{"reply": {"content": "echo"}}`. While `hold()` is on,
 * answers wait until `release()`, so a test can change the world between the delivery and its replies.
 */
interface Backend {
  readonly url: string;
  readonly envelopes: Envelope[];
  hold(): void;
  release(): void;
  close(): Promise<void>;
}

async function startBackend(): Promise<Backend> {
  const envelopes: Envelope[] = [];
  let held: (() => void)[] | undefined;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const envelope = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Envelope;
      envelopes.push(envelope);
      const answer = (r: ServerResponse): void => {
        if (envelope.qq_type !== 'GROUP_AT_MESSAGE_CREATE') r.writeHead(200).end();
        else r.writeHead(200, { 'content-type': 'application/json' }).end('{"reply":{"content":"echo"}}');
      };
      if (held) held.push(() => answer(res));
      else answer(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`,
    envelopes,
    hold: () => {
      held ??= [];
    },
    release: () => {
      const waiting = held ?? [];
      held = undefined;
      for (const answer of waiting) answer();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface World {
  sim: Simulator;
  config: BridgeConfig;
  backend: Backend;
  /** events `bridge.*`: receives what became of each reply. */
  results: Receiver;
  readiness: GatewayReadiness;
  queue: OutboundQueue;
  redis: Redis;
}

async function world(): Promise<World> {
  const sim = await startSimulator({ heartbeatIntervalMs: 60_000 });
  cleanups.push(() => sim.close());
  const backend = await startBackend();
  cleanups.push(() => backend.close());
  const results = await startReceiver();
  cleanups.push(() => results.close());
  const prefix = freshPrefix('replies-qq');
  cleanups.push(() => deletePrefix(prefix));
  const redis = redisConnection();
  cleanups.push(() => redis.quit());
  const queue = new OutboundQueue({ connection: redis, prefix, appId: APP_ID, attempts: 5 });
  cleanups.push(() => queue.close());
  const base = testConfig({
    simulatorOrigin: sim.origin,
    prefix,
    appId: APP_ID,
    targets: [
      testTarget({ id: 'backend', url: backend.url, events: ['*'] }),
      testTarget({ id: 'results', url: results.url, events: ['bridge.*'] }),
    ],
  });
  const config: BridgeConfig = {
    ...base,
    outbound: { ...base.outbound, retry: { attempts: 5, baseMs: 20, maxMs: 1000 } },
  };
  const readiness = new GatewayReadiness(redis, prefix, APP_ID);
  return { sim, config, backend, results, readiness, queue, redis };
}

async function bridge(w: World, role: Role): Promise<App> {
  const app = createApp({ config: w.config, role, logger: silentLogger(), withoutHttp: true });
  cleanups.push(() => app.stop());
  await app.start();
  return app;
}

/** Emits an @-message whose `d.id` is `msgId`, `ageMs` old by its own timestamp; resolves with its frame id. */
function atMessage(sim: Simulator, msgId: string, ageMs = 0): string {
  return sim.emit('GROUP_AT_MESSAGE_CREATE', {
    id: msgId,
    group_openid: GROUP,
    author: { member_openid: MEMBER },
    content: ' ping',
    timestamp: new Date(Date.now() - ageMs).toISOString(),
  }).id;
}

const resultEnvelopes = (r: Receiver): Envelope[] =>
  r.requests.map((req) => JSON.parse(req.body) as Envelope);

async function resultArrived(w: World): Promise<Envelope> {
  await w.results.waitFor(1);
  return resultEnvelopes(w.results)[0]!;
}

describe('replies in a target answer, at QQ', () => {
  it('sends {"reply"} to an @-message once, msg_id = d.id and msg_seq 1, and reports bridge.message.sent to bridge.* only', async () => {
    const w = await world();
    await bridge(w, 'all');
    await waitFor(() => w.readiness.isReady());
    const eventId = atMessage(w.sim, 'ROBOT1.0_echo-1');

    const report = await resultArrived(w);
    const atQq = w.sim.delivered();
    expect(atQq.map((m) => [m.scene, m.openid, m.body])).toEqual([
      ['group', GROUP, { content: 'echo', msg_type: 0, msg_id: 'ROBOT1.0_echo-1', msg_seq: 1 }],
    ]);
    expect(report).toMatchObject({
      type: 'bridge.message.sent',
      qq_type: 'BRIDGE_MESSAGE_SENT',
      data: {
        kind: 'message',
        source: 'reply',
        scene: 'group',
        openid: GROUP,
        reply_to: { event_id: eventId, target_id: 'backend' },
        qq: { id: atQq[0]!.id, timestamp: expect.any(Number) as unknown },
        attempts: 1,
      },
    });
    expect(report.id).toBe(`bridge.message.sent:${String(report.data['outbound_id'])}`);
    expect(schemaErrors(report)).toEqual([]);
    // the `*` target got the @-message and nothing of the bridge's own: no delivery of the report was queued for it
    expect(w.backend.envelopes.map((e) => e.type)).toEqual(['group.message.at']);
    const backendQueue = deliveryQueue('backend', w.config.redis.prefix, w.redis);
    cleanups.push(() => backendQueue.close());
    expect(await backendQueue.getJob(jobIdForEvent(report.id))).toBeUndefined();
    expect(w.sim.messages().messages).toHaveLength(1);
  });

  it('holds a reply stored while the gateway session is down and sends it once after RESUMED: nothing dropped', async () => {
    const w = await world();
    // The delivery workers and the outbound worker live on while the gateway process goes away and comes back.
    await bridge(w, 'worker');
    const gateway = await bridge(w, 'gateway');
    await waitFor(() => w.readiness.isReady());
    w.backend.hold();
    atMessage(w.sim, 'ROBOT1.0_held-1');
    await waitFor(() => w.backend.envelopes.length === 1);

    await gateway.stop();
    await waitFor(() => !w.sim.state().sessions.some((s) => s.connected));
    expect(await w.readiness.isReady()).toBe(false);
    w.backend.release();
    // stored, and looked at while no session is connected: held, not sent (QQ would answer 200 and drop it)
    await waitFor(async () => {
      const [job] = await w.queue.queue.getJobs(['delayed', 'waiting', 'active', 'completed', 'failed']);
      return (job?.attemptsStarted ?? 0) >= 2 || job?.finishedOn !== undefined;
    });
    expect(w.sim.messages().messages).toEqual([]);
    const [held] = await w.queue.queue.getJobs(['delayed', 'waiting', 'active']);
    expect(held?.attemptsMade).toBe(0);

    await bridge(w, 'gateway');
    const report = await resultArrived(w);
    expect(w.sim.state().resumes).toBe(1);
    expect(w.sim.messages().messages.map((m) => [m.outcome, (m.body as { msg_id: string }).msg_id])).toEqual([
      ['delivered', 'ROBOT1.0_held-1'],
    ]);
    expect(report).toMatchObject({
      type: 'bridge.message.sent',
      data: { qq: { id: w.sim.delivered()[0]!.id }, attempts: 1 },
    });
  });

  it('fails a reply to an @-message older than the 5-minute window with BRIDGE_ERR_REPLY_EXPIRED: nothing at QQ', async () => {
    const w = await world();
    await bridge(w, 'all');
    await waitFor(() => w.readiness.isReady());
    const eventId = atMessage(w.sim, 'ROBOT1.0_late-1', 6 * 60_000);

    const report = await resultArrived(w);
    expect(report).toMatchObject({
      type: 'bridge.message.failed',
      qq_type: 'BRIDGE_MESSAGE_FAILED',
      data: {
        source: 'reply',
        scene: 'group',
        openid: GROUP,
        reply_to: { event_id: eventId, target_id: 'backend' },
        error: {
          code: 'BRIDGE_ERR_REPLY_EXPIRED',
          message: expect.stringContaining('the reply window closed') as unknown,
        },
        attempts: 0,
      },
    });
    expect(schemaErrors(report)).toEqual([]);
    expect(w.sim.state().sendRequests).toBe(0);
    expect(w.sim.messages().messages).toEqual([]);
    expect(w.backend.envelopes.map((e) => e.type)).toEqual(['group.message.at']);
  });
});
