/**
 * docs/design.md §7: secrets never appear in logs, errors or metrics. The whole flow runs with distinctive secrets and
 * debug logging, including a delivery that keeps failing (so error paths log and dead-letter); then every output
 * the bridge produces — logs, /metrics, /readyz, /healthz, admin answers, `dlq` output, every Redis key under its
 * prefix — is searched for each secret and for the access token QQ (the simulator) issued.
 */
import type { Redis } from 'ioredis';
import { request } from 'undici';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createApp } from '../../src/app.js';
import { summarizeConfig } from '../../src/commands/config-check.js';
import { ConfigError } from '../../src/config/config-error.js';
import { parseConfig } from '../../src/config/load.js';
import type { BridgeConfig } from '../../src/config/types.js';
import { listDeadLetters, openDeliveryQueue, showDeadLetter } from '../../src/queue/dlq.js';
import { startSimulator } from '../../src/simulator/index.js';
import { onRedisUrl, testConfig, testTarget } from '../helpers/config.js';
import { eventually } from '../helpers/gateway.js';
import { startReceiver } from '../helpers/receiver.js';
import { deletePrefix, freshPrefix, keysUnder, REDIS_URL, redisConnection } from '../helpers/redis.js';
import { captureLogger } from '../server/fixtures.js';

const CLIENT_SECRET = 'hyg-Cl1entSecret-5d8a2f';
const WEBHOOK_KEY = 'hyg webhook key 0123456789abcdef';
const WHSEC = `whsec_${Buffer.from(WEBHOOK_KEY).toString('base64')}`;
const RAW_SECRET = 'hyg-RawWebhookSecret-71c2e9';
const ADMIN_TOKEN = 'hyg-Adm1nToken-9e4f1b';
const API_TOKEN = 'hyg-Ap1Token-c3a81e';
const HEADER_TOKEN = 'hyg-HeaderBearer-3b6d0c';
const QUERY_TOKEN = 'hyg-QueryToken-8f1e77';
const URL_PASSWORD = 'hyg-UrlPassw0rd-2a9d';

/**
 * The Redis URL with a password. The local test Redis has no auth, and ioredis then goes on without it (after a
 * console warning), so the bridge really runs with a password-bearing URL; a Redis that does require one is
 * configured through REDIS_URL, and its own password becomes the needle.
 */
const redisWithPassword = new URL(REDIS_URL);
if (redisWithPassword.password === '') redisWithPassword.password = 'hyg-RedisPassw0rd-4a7c';
const REDIS_PASSWORD = decodeURIComponent(redisWithPassword.password);

const STATIC_SECRETS: Record<string, string> = {
  'client secret': CLIENT_SECRET,
  'whsec_ webhook secret': WHSEC,
  'whsec_ base64 body': WHSEC.slice('whsec_'.length),
  'whsec_ decoded key': WEBHOOK_KEY,
  'raw webhook secret': RAW_SECRET,
  'admin token': ADMIN_TOKEN,
  'API token': API_TOKEN,
  'header bearer token': HEADER_TOKEN,
  'URL query token': QUERY_TOKEN,
  'URL password': URL_PASSWORD,
  'redis password': REDIS_PASSWORD,
};

/** Every place a secret was found, as `secret name in output name`. */
function leaks(outputs: Record<string, string>, secrets: Record<string, string>): string[] {
  const found: string[] = [];
  for (const [outputName, text] of Object.entries(outputs)) {
    for (const [secretName, secret] of Object.entries(secrets)) {
      if (text.includes(secret)) found.push(`${secretName} in ${outputName}`);
    }
  }
  return found;
}

/** Every key under `prefix` with its full content, whatever its type. */
async function dumpRedis(redis: Redis, prefix: string): Promise<string> {
  const lines: string[] = [];
  for (const key of await keysUnder(redis, prefix)) {
    const type = await redis.type(key);
    let value: unknown;
    if (type === 'hash') value = await redis.hgetall(key);
    else if (type === 'string') value = await redis.get(key);
    else if (type === 'list') value = await redis.lrange(key, 0, -1);
    else if (type === 'set') value = await redis.smembers(key);
    else if (type === 'zset') value = await redis.zrange(key, 0, -1, 'WITHSCORES');
    else if (type === 'stream') value = await redis.xrange(key, '-', '+');
    else value = `<${type}>`;
    lines.push(`${key} ${type} ${JSON.stringify(value)}`);
  }
  return lines.join('\n');
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  while (cleanups.length > 0) await cleanups.pop()!();
});

describe('secret hygiene', () => {
  it('keeps every secret and the access token out of logs, metrics, health, admin, dlq output and Redis', async () => {
    const { logger, lines } = captureLogger('debug');
    // ioredis warns on the console that the password is not needed; that is output too.
    const consoleLines: string[] = [];
    for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
        consoleLines.push(args.map(String).join(' '));
      });
    }

    const sim = await startSimulator({ clientSecret: CLIENT_SECRET, heartbeatIntervalMs: 1_000, logger });
    cleanups.push(() => sim.close());
    const good = await startReceiver();
    const refusing = await startReceiver(() => ({ status: 400, body: '{"error":"schema"}' }));
    const flaky = await startReceiver((_req, index) => ({ status: index === 0 ? 503 : 200 }));
    const closed = await startReceiver();
    await closed.close(); // a port nobody listens on: connection refused, retried, then dead-lettered
    for (const r of [good, refusing, flaky]) cleanups.push(() => r.close());

    const prefix = freshPrefix('hygiene');
    cleanups.push(() => deletePrefix(prefix));
    const base = testConfig({
      simulatorOrigin: sim.origin,
      prefix,
      clientSecret: CLIENT_SECRET,
      targets: [
        testTarget({
          id: 'good',
          url: good.url,
          secrets: [WHSEC, RAW_SECRET],
          headers: { Authorization: `Bearer ${HEADER_TOKEN}` },
        }),
        testTarget({ id: 'refusing', url: `${refusing.url}?token=${QUERY_TOKEN}`, secrets: [RAW_SECRET] }),
        testTarget({
          id: 'flaky',
          url: flaky.url.replace('//', `//bridge:${URL_PASSWORD}@`),
          secrets: [WHSEC],
        }),
        testTarget({
          id: 'down',
          url: `${closed.url.replace('//', `//bridge:${URL_PASSWORD}@`)}?token=${QUERY_TOKEN}`,
          secrets: [WHSEC, RAW_SECRET],
          headers: { 'X-Api-Key': HEADER_TOKEN },
          retry: { attempts: 2, baseMs: 20, maxMs: 50 },
        }),
      ],
    });
    const config: BridgeConfig = {
      ...base,
      redis: onRedisUrl(base, redisWithPassword.toString()).redis,
      server: { ...base.server, adminToken: ADMIN_TOKEN, apiTokens: [API_TOKEN] },
      log: { level: 'debug', format: 'auto' },
    };
    const app = createApp({
      config,
      role: 'all',
      logger,
      withoutHttp: false,
      sessionOverrides: { reconnectScheduleMs: [20, 50], invalidSessionDelayMs: [10, 20] },
    });
    cleanups.push(() => app.stop());
    await app.start();
    await eventually(() => app.shards().every((s) => s.status === 'ready'), 'shard ready');

    const events: { id: string }[] = [
      sim.emit('GROUP_ADD_ROBOT', { group_openid: 'G1', op_member_openid: 'M1', timestamp: 1699240248 }),
      sim.emit('C2C_MESSAGE_CREATE', {
        id: 'ROBOT1.0_hygiene',
        content: 'hello',
        timestamp: '2025-02-15T16:35:23+08:00',
        author: { user_openid: 'U1' },
      }),
    ];
    await good.waitFor(2);

    // QQ revokes the token and asks for a reconnect: the bridge needs a new token to get back in, so the token
    // paths log, and there are two tokens to look for.
    const firstToken = sim.currentToken();
    const handshakes = (state: ReturnType<typeof sim.state>): number => state.identifies + state.resumes;
    const before = handshakes(sim.state());
    sim.expireTokens();
    sim.fault('reconnect');
    await sim.waitFor((state) => handshakes(state) > before, 10_000);
    await eventually(
      () => app.shards().every((s) => s.status === 'ready' || s.status === 'resumed'),
      'shard back',
    );
    events.push(
      sim.emit('GROUP_DEL_ROBOT', { group_openid: 'G1', op_member_openid: 'M1', timestamp: 1699240426 }),
    );
    await good.waitFor(3);
    await flaky.waitFor(4); // one 503, then the three events

    const admin = redisConnection();
    cleanups.push(() => admin.quit());
    const queues = ['refusing', 'down'].map((id) => openDeliveryQueue(config, id, admin));
    for (const queue of queues) cleanups.push(() => queue.close());
    const deadline = Date.now() + 15_000;
    for (const queue of queues) {
      while (((await queue.getJobCounts('failed')).failed ?? 0) < events.length) {
        if (Date.now() > deadline) throw new Error(`${queue.name}: not every delivery was dead-lettered`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }

    const { host, port } = app.httpAddress()!;
    const origin = `http://${host}:${port}`;
    const fetchText = async (
      path: string,
      headers: Record<string, string> = {},
      json?: unknown,
    ): Promise<string> => {
      const response = await request(`${origin}${path}`, {
        headers,
        ...(json === undefined ? {} : { method: 'POST', body: JSON.stringify(json) }),
      });
      const body = await response.body.text();
      return `${response.statusCode} ${JSON.stringify(response.headers)}\n${body}`;
    };
    // The delivery counter lags the receiver by one round trip; wait until every attempt is counted.
    let metrics = '';
    const allCounted = /outcome="rejected"\} 3[\s\S]*target="down",outcome="dead_lettered"\} 3/;
    for (let i = 0; i < 100 && !allCounted.test(metrics); i++) {
      metrics = await fetchText('/metrics');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const outputs: Record<string, string> = {
      '/metrics': metrics,
      '/readyz': await fetchText('/readyz'),
      '/healthz': await fetchText('/healthz'),
      '/admin/ (right token)': await fetchText('/admin/', { authorization: `Bearer ${ADMIN_TOKEN}` }),
      '/admin/ (wrong token)': await fetchText('/admin/', { authorization: `Bearer ${ADMIN_TOKEN}x` }),
      '/admin/ (no token, browser)': await fetchText('/admin/', { accept: 'text/html' }),
      '/v1 send (right token)': await fetchText(
        '/v1/users/U1/messages',
        { authorization: `Bearer ${API_TOKEN}`, 'idempotency-key': 'hygiene-1' },
        { content: 'hi', msg_id: 'ROBOT1.0_hygiene' },
      ),
      '/v1 send (wrong token)': await fetchText(
        '/v1/users/U1/messages',
        { authorization: `Bearer ${API_TOKEN}x` },
        { content: 'hi' },
      ),
      '/v1 pass-through': await fetchText('/v1/openapi/gateway', { authorization: `Bearer ${API_TOKEN}` }),
      'dlq list': JSON.stringify(await Promise.all(queues.map((queue) => listDeadLetters(queue)))),
      'dlq show': JSON.stringify(
        await Promise.all(queues.flatMap((queue) => events.map(({ id }) => showDeadLetter(queue, id)))),
        null,
        2,
      ),
      'redis dump': await dumpRedis(admin, prefix),
    };
    await app.stop();
    outputs['logs'] = lines()
      .map((line) => JSON.stringify(line))
      .join('\n');
    outputs['console'] = consoleLines.join('\n');

    // The run did what it should, so the search below is not vacuous.
    expect(outputs['/metrics']).toMatch(allCounted);
    // Accepted and queued: without ?wait the API answers at once.
    expect(outputs['/v1 send (right token)']).toMatch(/^202 /);
    expect(outputs['/v1 send (wrong token)']).toMatch(/^401 /);
    expect(outputs['/v1 pass-through']).toMatch(/^200 /);
    expect(outputs['dlq show']).toContain('HTTP 400');
    expect(outputs['dlq show']).toContain('ECONNREFUSED');
    expect(outputs['logs']).toContain('dead-lettered');
    expect(outputs['logs']).toContain('will retry');
    expect(outputs['redis dump']).toContain(events[0]!.id.replaceAll(':', '|'));
    expect(good.requests[0]!.headers.authorization).toBe(`Bearer ${HEADER_TOKEN}`);
    expect(good.requests[0]!.headers['webhook-signature']).toMatch(/^v1,\S+ v1,\S+$/);
    expect(sim.state().identifies).toBeGreaterThan(0);

    const secondToken = sim.currentToken();
    expect(secondToken).not.toBe(firstToken);
    const tokens = { 'first access token': firstToken, 'second access token': secondToken };
    expect(leaks(outputs, { ...STATIC_SECRETS, ...tokens })).toEqual([]);
  });

  it('keeps a Redis URL password and the API tokens out of config errors and the config check summary', () => {
    const env = { QQWB_REDIS_URL: `redis://:${REDIS_PASSWORD}@127.0.0.1:6379/0` };
    const valid = [
      'qq:',
      '  app_id: "102000000"',
      `  client_secret: "${CLIENT_SECRET}"`,
      'redis:',
      '  url: "${QQWB_REDIS_URL}"',
      'server:',
      `  admin_token: "${ADMIN_TOKEN}"`,
      `  api_tokens: ["${API_TOKEN}"]`,
      'targets:',
      '  - id: backend',
      `    url: "https://user:${URL_PASSWORD}@hooks.example.com/qq?token=${QUERY_TOKEN}"`,
      `    secret: ["${WHSEC}", "${RAW_SECRET}"]`,
      `    headers: { Authorization: "Bearer ${HEADER_TOKEN}" }`,
    ].join('\n');
    const summary = summarizeConfig(parseConfig(valid, 'bridge.yaml', env));

    // The same secrets around every kind of mistake: a bad Redis URL, a wrong type for each secret setting, a
    // secret pasted where another setting belongs.
    const broken = [
      'qq:',
      '  app_id: "102000000"',
      `  client_secret: ["${CLIENT_SECRET}"]`,
      'redis:',
      `  url: "rediss://:${REDIS_PASSWORD}@"`,
      'server:',
      `  admin_token: { token: "${ADMIN_TOKEN}" }`,
      'targets:',
      '  - id: backend',
      `    url: "ftp://user:${URL_PASSWORD}@hooks.example.com/qq?token=${QUERY_TOKEN}"`,
      `    secret: ["${WHSEC}", "${RAW_SECRET}"]`,
      `    headers: { Authorization: ["Bearer ${HEADER_TOKEN}"] }`,
      // A secret pasted into the wrong setting is still a secret.
      `    timeout: "${RAW_SECRET}"`,
      `    events: ["${WHSEC}"]`,
      '  - id: second',
      '    url: https://hooks.example.com/b',
      `    secret: { a: "${WHSEC}" }`,
    ].join('\n');
    let error: unknown;
    try {
      parseConfig(broken, 'bridge.yaml', env);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const issues = (error as ConfigError).issues;
    expect(issues.map((issue) => issue.path)).toEqual(
      expect.arrayContaining(['qq.client_secret', 'redis.url', 'targets[0].url', 'targets[0].timeout']),
    );
    const badRedis = [
      'qq: { app_id: "1", client_secret: "x" }',
      `redis: { url: "http://:${REDIS_PASSWORD}@127.0.0.1:6379" }`,
    ].join('\n');
    let redisError: unknown;
    try {
      parseConfig(badRedis, 'bridge.yaml', {});
    } catch (err) {
      redisError = err;
    }
    expect((redisError as ConfigError).issues.map((issue) => issue.path)).toEqual(['redis.url']);

    const outputs = {
      'config check summary': summary,
      'config error': `${(error as Error).message}\n${JSON.stringify(issues)}`,
      'redis url error': `${(redisError as Error).message}\n${JSON.stringify((redisError as ConfigError).issues)}`,
    };
    expect(leaks(outputs, STATIC_SECRETS)).toEqual([]);
  });
});
