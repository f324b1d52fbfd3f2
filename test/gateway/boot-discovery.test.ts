import { afterEach, describe, expect, it } from 'vitest';
import { MemorySessionStore } from '../../src/gateway/session-store.js';
import { ShardManager } from '../../src/gateway/shard-manager.js';
import type { Logger } from '../../src/log.js';
import { AccessTokenManager, TokenError } from '../../src/qq/access-token.js';
import { QqOpenApi } from '../../src/qq/openapi.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { testConfig } from '../helpers/config.js';
import { eventually } from '../helpers/gateway.js';
import { captureLogger } from '../server/fixtures.js';

/** With `random` at 1 the jittered delays are the schedule's steps exactly. */
const SCHEDULE_MS = [20, 50];

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function simulator(): Promise<Simulator> {
  const sim = await startSimulator({ heartbeatIntervalMs: 1_000 });
  cleanups.push(() => sim.close());
  return sim;
}

function manager(sim: Simulator, logger: Logger, clientSecret = 'simulator-secret'): ShardManager {
  const { qq } = testConfig({ simulatorOrigin: sim.origin, prefix: 'unused', clientSecret });
  const tokens = new AccessTokenManager({
    tokenUrl: qq.tokenUrl,
    appId: qq.appId,
    clientSecret: qq.clientSecret,
    logger,
  });
  const shards = new ShardManager({
    qq,
    api: new QqOpenApi({ apiBase: qq.apiBase, appId: qq.appId, tokens }),
    tokens,
    store: new MemorySessionStore(),
    logger,
    maxFrameBytes: 1024 * 1024,
    sessionOverrides: { reconnectScheduleMs: SCHEDULE_MS, random: () => 1 },
    onDispatch: () => Promise.resolve(),
  });
  cleanups.push(async () => {
    await shards.stop();
    tokens.stop();
  });
  return shards;
}

const retryLines = (lines: () => Record<string, unknown>[]) =>
  lines()
    .filter((line) => line['msg'] === 'gateway discovery (GET /gateway/bot) failed at start; retrying')
    .map((line) => ({ attempt: line['attempt'], delayMs: line['delayMs'], err: line['err'] }));

describe('ShardManager.start: gateway discovery at boot', () => {
  it('retries GET /gateway/bot with the backoff schedule until QQ answers, then connects', async () => {
    const sim = await simulator();
    const { logger, lines } = captureLogger();
    sim.fault('http_error', { path: '/gateway/bot', status: 500, times: 2 });
    const shards = manager(sim, logger);
    await shards.start();
    await eventually(() => shards.snapshot()[0]?.status === 'ready', 'shard READY');
    expect(sim.state()).toMatchObject({ gatewayBotRequests: 3, identifies: 1 });
    expect(retryLines(lines)).toEqual([
      { attempt: 1, delayMs: 20, err: expect.stringContaining('HTTP 500') as unknown },
      { attempt: 2, delayMs: 50, err: expect.stringContaining('HTTP 500') as unknown },
    ]);
  });

  it('retries a failing first token fetch the same way', async () => {
    const sim = await simulator();
    const { logger, lines } = captureLogger();
    sim.fault('http_error', { path: '/app/getAppAccessToken', status: 502 });
    const shards = manager(sim, logger);
    await shards.start();
    await eventually(() => shards.snapshot()[0]?.status === 'ready', 'shard READY');
    expect(sim.state()).toMatchObject({ tokenRequests: 2, gatewayBotRequests: 1 });
    expect(retryLines(lines)).toEqual([
      { attempt: 1, delayMs: 20, err: expect.stringContaining('token endpoint') as unknown },
    ]);
  });

  it('fails at once, without retrying, when the token endpoint refuses the credentials', async () => {
    const sim = await simulator();
    const { logger, lines } = captureLogger();
    const shards = manager(sim, logger, 'wrong-secret');
    const failure = await shards.start().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(TokenError);
    expect((failure as TokenError).message).toMatch(/code 100016.*check qq\.app_id and qq\.client_secret/);
    expect(sim.state()).toMatchObject({ tokenRequests: 1, gatewayBotRequests: 0, connections: 0 });
    expect(retryLines(lines)).toEqual([]);
  });

  it.each(['stop()', 'the start signal'] as const)(
    'ends the retries when %s aborts the start, connecting nothing',
    async (how) => {
      const sim = await simulator();
      const { logger, lines } = captureLogger();
      sim.fault('http_error', { path: '/gateway/bot', status: 503, times: 10_000 });
      const shards = manager(sim, logger);
      const abort = new AbortController();
      const starting = shards.start(abort.signal);
      await sim.waitFor((state) => state.gatewayBotRequests >= 2);
      if (how === 'stop()') await shards.stop();
      else abort.abort();
      await starting;
      const requests = sim.state().gatewayBotRequests;
      // several retry delays pass: no attempt may follow the abort
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(sim.state()).toMatchObject({ gatewayBotRequests: requests, connections: 0 });
      expect(shards.snapshot()).toEqual([]);
      expect(lines().map((line) => line['msg'])).toContain(
        'gateway discovery at start interrupted: stopping before any shard connected',
      );
    },
  );
});
