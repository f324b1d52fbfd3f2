import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { silentLogger } from '../../src/log.js';
import { startSimulator } from '../../src/simulator/index.js';
import { onRedisUrl, testConfig } from '../helpers/config.js';
import { eventually, seedAddRobot } from '../helpers/gateway.js';
import { freshPrefix } from '../helpers/redis.js';
import { startRedisServer } from '../helpers/redis-server.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function get(app: App, path: string): Promise<{ status: number; text: string }> {
  const { host, port } = app.httpAddress()!;
  const res = await request(`http://${host}:${port}${path}`);
  return { status: res.statusCode, text: await res.body.text() };
}

async function readyz(app: App): Promise<{ status: number; body: { status: string; reasons: string[] } }> {
  const { status, text } = await get(app, '/readyz');
  return { status, body: JSON.parse(text) as { status: string; reasons: string[] } };
}

async function saveFailures(app: App): Promise<number> {
  const { text } = await get(app, '/metrics');
  const line = /^qqwb_session_save_failures_total\{shard="0"\} (\d+)$/m.exec(text);
  return line ? Number(line[1]) : 0;
}

describe('a shard whose session seq cannot be saved', () => {
  it('is counted in /metrics and named in /readyz until a save succeeds again', async () => {
    // its own redis-server, so the test can take it away; AOF keeps the shard lease across the restart
    const redis = await startRedisServer({ appendonly: true });
    cleanups.push(() => redis.cleanup());
    const sim = await startSimulator({ heartbeatIntervalMs: 1_000 });
    cleanups.push(() => sim.close());
    const config = testConfig({ simulatorOrigin: sim.origin, prefix: freshPrefix('save-health') });
    const app = createApp({
      config: onRedisUrl(config, redis.url),
      role: 'gateway',
      logger: silentLogger(),
      sessionOverrides: { reconnectScheduleMs: [20, 50], invalidSessionDelayMs: [10, 20] },
    });
    cleanups.push(() => app.stop());
    await app.start();
    await eventually(() => app.shards()[0]?.status === 'ready', 'shard ready');
    sim.emit('GROUP_ADD_ROBOT', seedAddRobot(1));
    await eventually(() => app.shards()[0]?.seq === 2, 'durable seq 2');
    expect(await readyz(app)).toMatchObject({ status: 200, body: { status: 'ready' } });
    expect(await saveFailures(app)).toBe(0);

    await redis.stop();
    // the event still becomes durable (in the journal), so the seq moves on, but it cannot be saved
    sim.emit('GROUP_DEL_ROBOT', seedAddRobot(2));
    await eventually(() => app.shards()[0]?.saveFailing === true, 'the save to fail');
    expect(app.shards()[0]).toMatchObject({ status: 'ready', seq: 3 });
    const down = await readyz(app);
    expect(down.status).toBe(503);
    expect(down.body.reasons).toContain('shard 0/1 session save failing');
    expect(await saveFailures(app)).toBeGreaterThanOrEqual(1);

    await redis.start();
    await eventually(() => app.health().redis === 'up', 'redis reconnected', 10_000);
    sim.emit('GROUP_MSG_REJECT', seedAddRobot(3));
    await eventually(() => app.shards()[0]?.saveFailing === false, 'a save to succeed', 10_000);
    await eventually(() => app.health().journal.mode === 'direct', 'journal drained', 10_000);
    const up = await readyz(app);
    expect(up).toMatchObject({ status: 200, body: { status: 'ready', reasons: [] } });
    expect(await saveFailures(app)).toBeGreaterThanOrEqual(1);
  }, 60_000);
});
