/**
 * Several bots on one Redis (README "Several bots"): one bridge per bot, each with its own `redis.prefix`, journal
 * directory and receiver. Both use the same target id, so the queue names are alike and only the prefix keeps the
 * bots apart; each bot's simulator emits its own events, and each receiver must get its own bot's only, once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createApp, type App } from '../src/app.js';
import { silentLogger } from '../src/log.js';
import { deliveryQueue } from '../src/queue/delivery-queue.js';
import { startSimulator, type Simulator } from '../src/simulator/index.js';
import { testConfig, testTarget } from './helpers/config.js';
import { eventually, seedAddRobot } from './helpers/gateway.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { deletePrefix, freshPrefix, redisConnection } from './helpers/redis.js';

interface Bot {
  readonly appId: string;
  readonly prefix: string;
  readonly sim: Simulator;
  readonly receiver: Receiver;
  readonly app: App;
}

const bots: Bot[] = [];

afterEach(async () => {
  for (const bot of bots.splice(0)) {
    await bot.app.stop();
    await bot.receiver.close();
    await bot.sim.close();
    await deletePrefix(bot.prefix);
  }
});

/** One bot's QQ (a simulator with its app id), receiver and bridge, started until its shard is READY. */
async function startBot(appId: string): Promise<Bot> {
  const sim = await startSimulator({ appId, heartbeatIntervalMs: 1_000 });
  const receiver = await startReceiver();
  const prefix = freshPrefix(`bot-${appId}`);
  const config = testConfig({
    simulatorOrigin: sim.origin,
    appId,
    prefix,
    targets: [testTarget({ id: 'backend', url: receiver.url })],
  });
  const app = createApp({ config, role: 'all', withoutHttp: true, logger: silentLogger() });
  const bot = { appId, prefix, sim, receiver, app };
  bots.push(bot);
  await app.start();
  await eventually(
    () => app.shards().every((shard) => shard.status === 'ready'),
    `bot ${appId} ready`,
    20_000,
  );
  return bot;
}

/** Jobs of the bot's target queue that are not finished; 0 means no delivery can still come. */
async function unfinished(bot: Bot): Promise<number> {
  const redis = redisConnection();
  const queue = deliveryQueue('backend', bot.prefix, redis);
  try {
    const counts = await queue.getJobCounts(
      'waiting',
      'active',
      'delayed',
      'prioritized',
      'waiting-children',
    );
    return Object.values(counts).reduce((sum, count) => sum + count, 0);
  } finally {
    await queue.close();
    redis.disconnect();
  }
}

describe('several bots on one Redis', () => {
  it("delivers each bot's events to its own receiver only, once", async () => {
    const first = await startBot('102000001');
    const second = await startBot('102000002');
    const emitted = new Map<Bot, string[]>();
    for (const bot of [first, second]) {
      const ids = [1, 2, 3].map(
        (n) => bot.sim.emit('GROUP_ADD_ROBOT', seedAddRobot(n), { id: `${bot.appId}-${n}` }).id,
      );
      emitted.set(bot, ids);
    }
    for (const bot of [first, second]) await bot.receiver.waitFor(3, 20_000);
    for (const bot of [first, second]) {
      let left = -1;
      for (let tries = 0; tries < 100 && left !== 0; tries += 1) {
        left = await unfinished(bot);
        if (left !== 0) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(left, `jobs left for bot ${bot.appId}`).toBe(0);
    }

    for (const bot of [first, second]) {
      const received = bot.receiver.requests.map(
        (request) => JSON.parse(request.body) as { id: string; app_id: string },
      );
      expect(received.map((envelope) => envelope.id).sort(), bot.appId).toEqual(
        [...emitted.get(bot)!].sort(),
      );
      expect(new Set(received.map((envelope) => envelope.app_id)), bot.appId).toEqual(new Set([bot.appId]));
    }
  }, 60_000);
});
