import type { Redis } from 'ioredis';
import { Webhook } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Envelope } from '../../src/events/envelope.js';
import { normalize } from '../../src/events/normalize.js';
import { startDeliveryWorkers, type DeliveryWorkers } from '../../src/delivery/worker.js';
import { silentLogger } from '../../src/log.js';
import { DeliveryProducer } from '../../src/queue/producer.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { testConfig, testTarget } from '../helpers/config.js';
import { sessionAgainst, type SessionHarness } from '../helpers/gateway.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { deletePrefix, freshPrefix, redisConnection } from '../helpers/redis.js';
import { APP_ID, BOT_SECRET, enqueueInto, startIngress, type RunningIngress } from './fixtures.js';

const WHSEC = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const GROUP = 'C9F778FE6ADF9D1D1DBE395BF744A33A';
const OPERATOR = 'E4F4AEA33253A2797FB897C50B81D7ED';

/** The project's seed: the four official examples of docs/qq-protocol.md §5.4, with the envelope type each becomes. */
const SEED = [
  ['GROUP_ADD_ROBOT', 1699240248, 'group.bot.added'],
  ['GROUP_DEL_ROBOT', 1699240426, 'group.bot.removed'],
  ['GROUP_MSG_REJECT', 1699240458, 'group.push.rejected'],
  ['GROUP_MSG_RECEIVE', 1699240477, 'group.push.accepted'],
] as const;

let prefix: string;
let redis: Redis;
let producer: DeliveryProducer;
let sim: Simulator;
let receiver: Receiver;
let ingress: RunningIngress;
let workers: DeliveryWorkers;
let gateway: SessionHarness | undefined;

beforeEach(async () => {
  prefix = freshPrefix('test');
  redis = redisConnection();
  receiver = await startReceiver();
  const targets = [testTarget({ id: 'backend', url: receiver.url, secrets: [WHSEC] })];
  producer = new DeliveryProducer({ connection: redis, prefix, targets, dedupeWindowMs: 60_000 });
  workers = startDeliveryWorkers({ config: testConfig({ prefix, targets }), logger: silentLogger() });
  ingress = await startIngress({ accept: enqueueInto(producer) });
  sim = await startSimulator({ appId: APP_ID, clientSecret: BOT_SECRET });
});

afterEach(async () => {
  await gateway?.stop();
  gateway = undefined;
  await sim.close();
  await ingress.close();
  await workers.close(1000);
  await producer.close();
  await receiver.close();
  await deletePrefix(prefix);
  redis.disconnect();
});

/** Every delivery the receiver got, verified with the third-party standardwebhooks package. */
function verifiedEnvelopes(): Envelope[] {
  const webhook = new Webhook(WHSEC);
  return receiver.requests.map(
    (req) => webhook.verify(req.body, req.headers as Record<string, string>) as Envelope,
  );
}

function emitSeed(): string[] {
  return SEED.map(
    ([t, timestamp]) => sim.emit(t, { group_openid: GROUP, op_member_openid: OPERATOR, timestamp }).id,
  );
}

describe('webhook mode end to end: simulator → ingress → queue → worker → receiver', () => {
  it('delivers the four seed events pushed as signed callbacks, each once, signed per Standard Webhooks', async () => {
    const push = await sim.startWebhookPush(ingress.url);
    const ids = emitSeed();
    await push.idle();
    expect(push.stats()).toEqual({ posted: 5, acked: 4, retries: 0, failed: 0, inFlight: 0 });
    await receiver.waitFor(4);

    const envelopes = verifiedEnvelopes();
    expect(envelopes.map((e) => e.id).sort()).toEqual([...ids].sort());
    for (const [t, timestamp, type] of SEED) {
      const envelope = envelopes.find((e) => e.qq_type === t);
      expect(envelope).toMatchObject({
        type,
        app_id: APP_ID,
        shard: [0, 1],
        seq: null,
        occurred_at: new Date(timestamp * 1000).toISOString(),
        data: { group_openid: GROUP, operator_openid: OPERATOR, timestamp },
        v: 1,
      });
      expect(envelope).not.toHaveProperty('malformed');
    }
    for (const req of receiver.requests) {
      expect(req.headers['webhook-id']).toBe((JSON.parse(req.body) as Envelope).id);
    }
  });

  it('runs WebSocket and webhook side by side during a switch-over: every event delivered exactly once', async () => {
    gateway = sessionAgainst(sim, {
      onDispatch: async (frames) => {
        for (const frame of frames) {
          const event = normalize(frame, { appId: APP_ID, shard: [0, 1], receivedAt: new Date() });
          await producer.enqueue(event, frame);
        }
      },
    });
    await gateway.session.start();
    await sim.waitFor((state) => state.sessions.length === 1);
    const push = await sim.startWebhookPush(ingress.url);

    const ids = emitSeed();
    await push.idle();
    await receiver.waitFor(4);
    // Give a late duplicate time to show up before counting.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(push.stats().acked).toBe(4);
    expect(sim.state().dispatched).toBe(4);
    expect(
      verifiedEnvelopes()
        .map((e) => e.id)
        .sort(),
    ).toEqual([...ids].sort());
  });
});
