import { afterEach, describe, expect, it } from 'vitest';
import { openAppRedis, waitForRedis, type AppRedis } from '../../src/roles/connections.js';
import { freePort } from '../../src/demo/redis.js';
import { onRedisUrl, testConfig } from '../helpers/config.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { captureLogs, type CapturedLogs } from '../queue/journal-fixtures.js';
import { freshPrefix } from '../helpers/redis.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** Resolves once `logs` holds a line whose message contains `text`, bounded in time. */
async function logged(logs: CapturedLogs, text: string): Promise<CapturedLogs['lines'][number]> {
  for (let tries = 0; tries < 200; tries++) {
    const line = logs.lines.find((entry) => entry.msg.includes(text));
    if (line) return line;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no "${text}" line: ${JSON.stringify(logs.lines)}`);
}

describe('the app connection to Redis: waiting at start, losing it later', () => {
  it('names the address and the connection error while waiting, after a loss, and when restored', async () => {
    const port = await freePort();
    const address = `127.0.0.1:${port}`;
    const logs = captureLogs();
    const config = onRedisUrl(testConfig({ prefix: freshPrefix('connections') }), `redis://${address}`);
    const app: AppRedis = openAppRedis(config, logs.logger);
    cleanups.push(() => app.redis.disconnect());

    const ready = waitForRedis(app, logs.logger, undefined);
    const waiting = await logged(logs, 'still waiting');
    expect(waiting).toMatchObject({
      level: 40,
      address,
      code: 'ECONNREFUSED',
      attempt: 1,
      msg: `Redis ${address} unreachable: connect ECONNREFUSED ${address} (attempt 1); still waiting — start Redis or fix redis.url`,
    });
    expect(logs.lines.some((line) => line.msg.startsWith('redis connection error'))).toBe(false);

    const server: RedisServer = await startRedisServer({ port });
    cleanups.push(() => server.cleanup());
    await ready;
    expect(app.link.problem()).toBeUndefined();

    await server.stop();
    const lost = await logged(logs, 'redis connection error');
    expect(lost).toMatchObject({ level: 40, address, code: 'ECONNREFUSED' });
    expect(lost.msg).toBe(
      `redis connection error: Redis ${address} unreachable: connect ECONNREFUSED ${address}; reconnecting`,
    );
    expect(app.link.problem()).toMatchObject({ address, cause: { code: 'ECONNREFUSED' } });

    await server.start();
    const restored = await logged(logs, 'restored');
    expect(restored).toMatchObject({ level: 30, address, msg: `redis connection to ${address} restored` });
    expect(logs.lines.map((line) => line.msg).join('\n')).not.toMatch(
      /Stream isn't writeable|Connection is closed/,
    );
  }, 60_000);
});
