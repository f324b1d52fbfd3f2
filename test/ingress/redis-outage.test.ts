import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { silentLogger } from '../../src/log.js';
import { startSimulator } from '../../src/simulator/index.js';
import { onRedisUrl, testConfig, testTarget } from '../helpers/config.js';
import { eventually } from '../helpers/gateway.js';
import { startReceiver } from '../helpers/receiver.js';
import { freshPrefix } from '../helpers/redis.js';
import { startRedisServer } from '../helpers/redis-server.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

describe('webhook mode during a Redis outage', () => {
  it('journals callbacks and answers op 12 while Redis is down, then delivers each once when it returns', async () => {
    const redis = await startRedisServer({ appendonly: true });
    cleanups.push(() => redis.cleanup());
    const sim = await startSimulator();
    cleanups.push(() => sim.close());
    const receiver = await startReceiver();
    cleanups.push(() => receiver.close());
    const config = testConfig({
      simulatorOrigin: sim.origin,
      prefix: freshPrefix('webhook-outage'),
      targets: [testTarget({ id: 'backend', url: receiver.url })],
      mode: 'webhook',
    });
    const app = createApp({
      config: onRedisUrl(config, redis.url),
      role: 'all',
      logger: silentLogger(),
    });
    cleanups.push(() => app.stop());
    await app.start();
    const { host, port } = app.httpAddress()!;
    const push = await sim.startWebhookPush(`http://${host}:${port}/qq/callback`, {
      attempts: 3,
      retryBaseMs: 50,
    });
    cleanups.push(() => push.stop());

    const emit = (n: number): string =>
      sim.emit('GROUP_ADD_ROBOT', { group_openid: 'G', op_member_openid: 'M', timestamp: 1_700_000_000 + n })
        .id;
    const before = emit(0);
    await receiver.waitFor(1);

    await redis.stop();
    const during = [1, 2, 3, 4, 5].map(emit);
    await push.idle();
    // every callback was acknowledged (stored in the journal), none needed QQ's retry to survive
    expect(push.stats()).toMatchObject({ failed: 0, inFlight: 0, acked: 6 });
    expect(app.health().journal).toMatchObject({ mode: 'journaling', events: 5 });

    await redis.start();
    await receiver.waitFor(6, 20_000);
    await eventually(() => app.health().journal.mode === 'direct', 'journal drained', 10_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    // exactly once each; order across deliveries is not promised with concurrency > 1
    expect(receiver.requests.map((r) => String(r.headers['webhook-id'])).sort()).toEqual(
      [before, ...during].sort(),
    );
  }, 60_000);
});
