import { request } from 'undici';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp, type App } from '../src/app.js';
import { silentLogger } from '../src/log.js';
import { startSimulator, type Simulator } from '../src/simulator/index.js';
import { testConfig, testTarget } from './helpers/config.js';
import { eventually } from './helpers/gateway.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { deletePrefix, freshPrefix } from './helpers/redis.js';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const GROUP = 'C9F778FE6ADF9D1D1DBE395BF744A33A';
const OPERATOR = 'E4F4AEA33253A2797FB897C50B81D7ED';

/** The seed's four events exactly as docs/qq-protocol.md §5.4 gives them. */
const SEED = [
  ['GROUP_ADD_ROBOT', 'group.bot.added', 1699240248, '2023-11-06T03:10:48.000Z'],
  ['GROUP_DEL_ROBOT', 'group.bot.removed', 1699240426, '2023-11-06T03:13:46.000Z'],
  ['GROUP_MSG_REJECT', 'group.push.rejected', 1699240458, '2023-11-06T03:14:18.000Z'],
  ['GROUP_MSG_RECEIVE', 'group.push.accepted', 1699240477, '2023-11-06T03:14:37.000Z'],
] as const;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function bridge(
  sim: Simulator,
  targets: Parameters<typeof testConfig>[0]['targets'],
  withoutHttp = true,
  mode: 'websocket' | 'webhook' = 'websocket',
): Promise<App> {
  const prefix = freshPrefix('app');
  cleanups.push(() => deletePrefix(prefix));
  const app = createApp({
    config: testConfig({ simulatorOrigin: sim.origin, prefix, targets: targets ?? [], mode }),
    withoutHttp,
    role: 'all',
    logger: silentLogger(),
    sessionOverrides: { reconnectScheduleMs: [20, 50], invalidSessionDelayMs: [10, 20] },
  });
  cleanups.push(() => app.stop());
  await app.start();
  return app;
}

describe('the bridge end to end (simulator → gateway → Redis → worker → receiver)', () => {
  let sim: Simulator;
  let receiver: Receiver;

  async function setUp(): Promise<void> {
    sim = await startSimulator({ heartbeatIntervalMs: 1_000 });
    cleanups.push(() => sim.close());
    receiver = await startReceiver();
    cleanups.push(() => receiver.close());
  }

  it('delivers the seed four events as exactly the documented envelopes, signed', async () => {
    await setUp();
    const app = await bridge(sim, [testTarget({ id: 'backend', url: receiver.url, events: ['group.*'] })]);
    await eventually(() => app.shards().every((s) => s.status === 'ready'), 'shard ready');
    const ids = SEED.map(
      ([t, , timestamp]) => sim.emit(t, { group_openid: GROUP, op_member_openid: OPERATOR, timestamp }).id,
    );
    await receiver.waitFor(4);
    const byId = new Map(receiver.requests.map((r) => [r.headers['webhook-id'], r]));
    const webhook = new Webhook(SECRET);
    SEED.forEach(([qqType, type, timestamp, occurredAt], i) => {
      const request = byId.get(ids[i]);
      expect(request, `delivery of ${qqType}`).toBeDefined();
      const body = JSON.parse(request!.body) as Record<string, unknown>;
      expect(body).toEqual({
        id: ids[i],
        type,
        qq_type: qqType,
        occurred_at: occurredAt,
        received_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as unknown,
        app_id: '102000000',
        shard: [0, 1],
        seq: i + 2,
        data: { group_openid: GROUP, operator_openid: OPERATOR, timestamp },
        v: 1,
      });
      expect(request!.headers['content-type']).toBe('application/json');
      expect(request!.headers['x-qqwb-target']).toBe('backend');
      expect(() =>
        webhook.verify(request!.body, {
          'webhook-id': String(request!.headers['webhook-id']),
          'webhook-timestamp': String(request!.headers['webhook-timestamp']),
          'webhook-signature': String(request!.headers['webhook-signature']),
        }),
      ).not.toThrow();
    });
  });

  it('fans one event out to exactly the targets whose filters match', async () => {
    await setUp();
    const others = await Promise.all([startReceiver(), startReceiver()]);
    for (const r of others) cleanups.push(() => r.close());
    const [c2c, addOnly] = others;
    await bridge(sim, [
      testTarget({ id: 'all-group', url: receiver.url, events: ['group.*'] }),
      testTarget({ id: 'c2c', url: c2c.url, events: ['c2c.*'] }),
      testTarget({ id: 'add-only', url: addOnly.url, events: ['GROUP_ADD_ROBOT'] }),
    ]);
    sim.emit('GROUP_ADD_ROBOT', { group_openid: GROUP, op_member_openid: OPERATOR, timestamp: 1699240248 });
    sim.emit('GROUP_DEL_ROBOT', { group_openid: GROUP, op_member_openid: OPERATOR, timestamp: 1699240426 });
    sim.emit('FRIEND_ADD', { openid: OPERATOR, timestamp: 1741879599 });
    await receiver.waitFor(2);
    await c2c.waitFor(1);
    await addOnly.waitFor(1);
    // Give any wrong extra delivery time to arrive before counting.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(receiver.requests.map((r) => (JSON.parse(r.body) as { type: string }).type).sort()).toEqual([
      'group.bot.added',
      'group.bot.removed',
    ]);
    expect(c2c.requests.map((r) => (JSON.parse(r.body) as { type: string }).type)).toEqual([
      'c2c.friend.added',
    ]);
    expect(addOnly.requests.map((r) => (JSON.parse(r.body) as { qq_type: string }).qq_type)).toEqual([
      'GROUP_ADD_ROBOT',
    ]);
  });

  it('delivers a double-pushed event (same frame id) only once', async () => {
    await setUp();
    const app = await bridge(sim, [testTarget({ id: 'once', url: receiver.url })]);
    await eventually(() => app.shards().every((s) => s.status === 'ready'), 'shard ready');
    const { id } = sim.emit('GROUP_ADD_ROBOT', {
      group_openid: GROUP,
      op_member_openid: OPERATOR,
      timestamp: 1,
    });
    await receiver.waitFor(1);
    // The same frame id arriving again (a platform double push) must not produce a second delivery.
    sim.emit('GROUP_ADD_ROBOT', { group_openid: GROUP, op_member_openid: OPERATOR, timestamp: 1 }, { id });
    sim.emit('GROUP_DEL_ROBOT', { group_openid: GROUP, op_member_openid: OPERATOR, timestamp: 2 });
    await receiver.waitFor(2);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(receiver.requests.map((r) => r.headers['webhook-id'])).toEqual([
      id,
      expect.stringMatching(/^GROUP_DEL_ROBOT:/),
    ]);
  });

  it('reports readiness and counts events and deliveries on the HTTP server', async () => {
    await setUp();
    const app = await bridge(sim, [testTarget({ id: 'backend', url: receiver.url })], false);
    const { host, port } = app.httpAddress()!;
    const base = `http://${host}:${port}`;
    await eventually(() => app.shards().every((s) => s.status === 'ready'), 'shard ready');
    const ready = await request(`${base}/readyz`);
    expect(ready.statusCode).toBe(200);
    expect(await ready.body.json()).toMatchObject({
      status: 'ready',
      redis: 'up',
      shards: [{ shard: [0, 1], status: 'ready' }],
    });
    sim.emit('GROUP_ADD_ROBOT', { group_openid: GROUP, op_member_openid: OPERATOR, timestamp: 1 });
    await receiver.waitFor(1);
    // The worker counts the delivery after the receiver answered, so poll until it shows.
    let text = '';
    for (let i = 0; i < 100 && !text.includes('outcome="delivered"'); i++) {
      text = await (await request(`${base}/metrics`)).body.text();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(text).toContain('qqwb_events_received_total{type="group.bot.added"} 1');
    expect(text).toContain('qqwb_events_enqueued_total{target="backend"} 1');
    expect(text).toMatch(/qqwb_deliveries_total\{target="backend",outcome="delivered"\} 1/);
    expect(text).toMatch(/qqwb_queue_depth\{target="backend",state="failed"\} 0/);
  });

  it('in webhook mode takes signed QQ callbacks into the same pipeline and delivers the seed events', async () => {
    await setUp();
    const app = await bridge(sim, [testTarget({ id: 'backend', url: receiver.url })], false, 'webhook');
    const { host, port } = app.httpAddress()!;
    const push = await sim.startWebhookPush(`http://${host}:${port}/qq/callback`);
    cleanups.push(() => push.stop());
    const ids = SEED.map(
      ([t, , timestamp]) => sim.emit(t, { group_openid: GROUP, op_member_openid: OPERATOR, timestamp }).id,
    );
    await receiver.waitFor(4);
    const webhook = new Webhook(SECRET);
    const bodies = receiver.requests.map((r) => {
      webhook.verify(r.body, {
        'webhook-id': String(r.headers['webhook-id']),
        'webhook-timestamp': String(r.headers['webhook-timestamp']),
        'webhook-signature': String(r.headers['webhook-signature']),
      });
      return JSON.parse(r.body) as { id: string; type: string; seq: unknown };
    });
    expect(bodies.map((b) => b.id).sort()).toEqual([...ids].sort());
    expect(bodies.every((b) => b.seq === null)).toBe(true);
    expect(app.shards()).toEqual([]);
  });
});
