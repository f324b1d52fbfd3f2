import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../src/demo/redis.js';
import { configWaitingForRedis, notJson, startRun, withinDeadline, type RunProcess } from './run-process.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()!();
});

const ADMIN_TOKEN = 'startup-admin-token';
const API_TOKEN = 'startup-api-token';

const isWaitingLine = (record: Record<string, unknown>): boolean =>
  typeof record['msg'] === 'string' && record['msg'].includes('still waiting');

/** The HTTP server's base URL, from its "listening" line. */
async function httpBase(run: RunProcess): Promise<string> {
  const listening = await run.line((record) => record['msg'] === 'http server listening');
  return `http://127.0.0.1:${String(listening['port'])}`;
}

describe('qq-webhook-bridge run while Redis is unreachable', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    'serves /healthz and a /readyz that names Redis and the cause, then exits 0 on the first %s',
    async (signal) => {
      const port = await freePort();
      const { file } = configWaitingForRedis(port, cleanups);
      const run = startRun(['--config', file, '--log-format', 'json'], cleanups);

      const waiting = await run.line(isWaitingLine);
      expect(waiting).toMatchObject({
        level: 40,
        address: `127.0.0.1:${port}`,
        code: 'ECONNREFUSED',
        attempt: 1,
        msg:
          `Redis 127.0.0.1:${port} unreachable: connect ECONNREFUSED 127.0.0.1:${port} (attempt 1); ` +
          'still waiting — start Redis or fix redis.url',
      });
      const base = await httpBase(run);
      const healthz = await fetch(`${base}/healthz`);
      expect(healthz.status).toBe(200);
      const readyz = await fetch(`${base}/readyz`);
      expect(readyz.status).toBe(503);
      const body = (await readyz.json()) as { reasons: string[]; redis: string; redis_link: unknown };
      expect(body.redis).toBe('down');
      expect(body.redis_link).toMatchObject({ address: `127.0.0.1:${port}`, cause: 'ECONNREFUSED' });
      expect(body.reasons).toEqual(
        expect.arrayContaining([
          'starting',
          expect.stringMatching(
            new RegExp(`^Redis 127\\.0\\.0\\.1:${port} unreachable: ECONNREFUSED, attempt \\d+$`),
          ),
        ]),
      );

      run.kill(signal);
      const outcome = await withinDeadline(run.exited);
      expect(outcome, `still running after ${signal}`).toEqual({ code: 0, signal: null });
      const messages = run.stdout.map((text) => (JSON.parse(text) as { msg: string }).msg);
      expect(messages).toContain('shutdown signal during start: start interrupted while waiting for Redis');
      expect(messages, JSON.stringify(messages)).toContain('stopped cleanly');
      expect(messages).not.toContain('second signal: exiting without waiting');
      // The HTTP server listened before the wait began: /healthz answered from the start.
      expect(messages.indexOf('http server listening')).toBeLessThan(
        messages.findIndex((m) => m.includes('still waiting')),
      );
      // Every line is a log record, and none repeats ioredis's command rejections instead of the cause.
      expect(notJson(run.stdout)).toEqual([]);
      expect(run.stderr).toEqual([]);
      expect(run.stdout.join('\n')).not.toMatch(/Stream isn't writeable|Connection is closed/);
    },
    60_000,
  );

  it('answers the send API and the dashboard with a 503 at once instead of holding the request', async () => {
    const port = await freePort();
    const { file } = configWaitingForRedis(port, cleanups, {
      server: [`admin_token: ${ADMIN_TOKEN}`, `api_tokens: [${API_TOKEN}]`],
    });
    const run = startRun(['--config', file, '--log-format', 'json'], cleanups);
    await run.line(isWaitingLine);
    const base = await httpBase(run);

    const send = (authorization?: string): Promise<Response> =>
      fetch(`${base}/v1/groups/G1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
        body: JSON.stringify({ content: 'hello' }),
      });
    const refused = await send(`Bearer ${API_TOKEN}`);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(await refused.json()).toEqual({
      error: {
        code: 'store_unavailable',
        message: 'Redis is not reachable: see /readyz for the cause; retry later',
      },
    });
    // A caller without a token still learns only that: the API's own 401.
    expect((await send()).status).toBe(401);
    const dashboard = await fetch(`${base}/admin/queues`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(dashboard.status).toBe(503);
    expect(await dashboard.json()).toEqual({
      error: 'redis_unavailable',
      message: `Redis 127.0.0.1:${port} is not reachable: see /readyz for the cause; retry later`,
    });

    run.kill('SIGTERM');
    expect(await withinDeadline(run.exited)).toEqual({ code: 0, signal: null });
  }, 60_000);
});

describe('qq-webhook-bridge run: log.format and --log-format', () => {
  it('writes pretty lines with log.format: pretty, and JSON when --log-format json overrides it', async () => {
    const port = await freePort();
    const { file } = configWaitingForRedis(port, cleanups, { log: ['format: pretty'] });

    const pretty = startRun(['--config', file], cleanups);
    await pretty.text('still waiting');
    pretty.kill('SIGTERM');
    expect(await withinDeadline(pretty.exited)).toEqual({ code: 0, signal: null });
    expect(pretty.stdout.length).toBeGreaterThan(0);
    expect(notJson(pretty.stdout)).toEqual(pretty.stdout);

    const json = startRun(['--config', file, '--log-format', 'json'], cleanups);
    await json.line(isWaitingLine);
    json.kill('SIGTERM');
    expect(await withinDeadline(json.exited)).toEqual({ code: 0, signal: null });
    expect(notJson(json.stdout)).toEqual([]);
  }, 60_000);
});

describe('qq-webhook-bridge run --log-format json: a fatal error', () => {
  it('is a flushed fatal log record, and every line the process wrote is JSON', async () => {
    const port = await freePort();
    const { file, journalDir } = configWaitingForRedis(port, cleanups);
    const first = startRun(['--role', 'gateway', '--config', file, '--log-format', 'json'], cleanups);
    await first.line(isWaitingLine);

    // A second gateway on the same journal directory fails at once: BRIDGE_ERR_JOURNAL_LOCKED.
    const second = startRun(['--role', 'gateway', '--config', file, '--log-format', 'json'], cleanups);
    expect(await withinDeadline(second.exited)).toEqual({ code: 1, signal: null });
    expect(notJson(second.stdout)).toEqual([]);
    expect(second.stderr).toEqual([]);
    const fatal = await second.line((record) => record['level'] === 60);
    expect(fatal).toMatchObject({ code: 'BRIDGE_ERR_JOURNAL_LOCKED' });
    expect(fatal['msg']).toContain(`journal directory ${journalDir} is in use by pid ${first.pid}`);

    first.kill('SIGTERM');
    expect(await withinDeadline(first.exited)).toEqual({ code: 0, signal: null });
    expect(notJson(first.stdout)).toEqual([]);
    expect(first.stderr).toEqual([]);
  }, 60_000);
});
