import { connect } from 'node:net';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import type { ServerConfig } from '../../src/config/types.js';
import { isBridgeError } from '../../src/errors.js';
import { silentLogger, type Logger } from '../../src/log.js';
import { createHttpServer, type AdminRoutes, type HttpServer } from '../../src/server/http.js';
import { createMetrics, type BridgeMetrics } from '../../src/server/metrics.js';
import type { HealthReport } from '../../src/server/readiness.js';
import { BRIDGE_METRIC_NAMES, captureLogger } from './fixtures.js';

const TOKEN = 'admin-token-that-must-never-be-echoed';

let servers: HttpServer[] = [];

afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

interface Started {
  base: string;
  server: HttpServer;
  metrics: BridgeMetrics;
  /** The report `/readyz` sees; tests replace it to drive transitions. */
  state: { report: HealthReport; fail?: Error };
}

async function start(
  options: { config?: Partial<ServerConfig>; adminRoutes?: AdminRoutes; logger?: Logger } = {},
): Promise<Started> {
  const metrics = createMetrics();
  const state: Started['state'] = {
    report: { role: 'all', started: false, shards: [], redis: 'up', journal: { mode: 'direct', events: 0 } },
  };
  const server = createHttpServer({
    config: { host: '127.0.0.1', port: 0, adminToken: '', ...options.config, apiTokens: [] },
    metrics,
    health: () => (state.fail ? Promise.reject(state.fail) : Promise.resolve(state.report)),
    logger: options.logger ?? silentLogger(),
    ...(options.adminRoutes ? { adminRoutes: options.adminRoutes } : {}),
  });
  servers.push(server);
  const { host, port } = await server.listen();
  return { base: `http://${host}:${port}`, server, metrics, state };
}

async function call(
  base: string,
  path: string,
  init: { method?: 'GET' | 'HEAD' | 'POST' | 'DELETE' | 'PUT'; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  const res = await request(`${base}${path}`, { method: init.method ?? 'GET', headers: init.headers ?? {} });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

/** Sends bytes exactly as given (no client-side URL normalization) and returns the raw reply. */
function rawRequest(port: number, bytes: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
    let data = '';
    socket.on('data', (chunk: Buffer) => (data += chunk.toString('utf8')));
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
  });
}

describe('GET /healthz', () => {
  it('answers 200 {"status":"ok"} as JSON that nothing caches, whatever readiness says', async () => {
    const { base, state } = await start();
    state.report = { ...state.report, redis: 'down' };
    const res = await call(base, '/healthz');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual({ status: 'ok' });
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('answers HEAD like GET but without a body', async () => {
    const { base } = await start();
    const get = await call(base, '/healthz');
    const head = await call(base, '/healthz', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
    expect(head.headers['content-length']).toBe(String(Buffer.byteLength(get.text)));
  });
});

describe('GET /readyz', () => {
  it('follows the shards, Redis and the journal: starting → connecting → ready → degraded → not ready', async () => {
    const { base, state } = await start();
    const readyz = async (): Promise<{ status: number; body: Record<string, unknown> }> => {
      const res = await call(base, '/readyz');
      return { status: res.status, body: JSON.parse(res.text) as Record<string, unknown> };
    };

    expect(await readyz()).toMatchObject({
      status: 503,
      body: { status: 'not_ready', reasons: ['starting'] },
    });

    state.report = {
      ...state.report,
      started: true,
      shards: [
        { shard: [0, 2], status: 'connecting', seq: null, saveFailing: false },
        { shard: [1, 2], status: 'ready', seq: 3, saveFailing: false },
      ],
    };
    expect(await readyz()).toMatchObject({
      status: 503,
      body: { status: 'not_ready', reasons: ['shard 0/2 connecting'] },
    });

    state.report = {
      ...state.report,
      shards: [
        { shard: [0, 2], status: 'resumed', seq: 10, saveFailing: false },
        { shard: [1, 2], status: 'ready', seq: 3, saveFailing: false },
      ],
    };
    expect(await readyz()).toEqual({
      status: 200,
      body: {
        status: 'ready',
        reasons: [],
        shards: [
          { shard: [0, 2], status: 'resumed', seq: 10 },
          { shard: [1, 2], status: 'ready', seq: 3 },
        ],
        redis: 'up',
        journal: { mode: 'direct', events: 0 },
      },
    });

    state.report = { ...state.report, journal: { mode: 'journaling', events: 4 } };
    expect(await readyz()).toMatchObject({
      status: 503,
      body: {
        status: 'degraded',
        reasons: ['journaling: 4 events'],
        journal: { mode: 'journaling', events: 4 },
      },
    });

    state.report = { ...state.report, redis: 'down' };
    expect(await readyz()).toMatchObject({
      status: 503,
      body: { status: 'not_ready', reasons: ['redis down', 'journaling: 4 events'], redis: 'down' },
    });
  });

  it('reports a worker-only process ready when Redis is up, and not ready when it is down', async () => {
    const { base, state } = await start();
    state.report = {
      role: 'worker',
      started: true,
      shards: [],
      redis: 'up',
      journal: { mode: 'direct', events: 0 },
    };
    expect((await call(base, '/readyz')).status).toBe(200);
    state.report = { ...state.report, redis: 'down' };
    const res = await call(base, '/readyz');
    expect(res.status).toBe(503);
    expect(JSON.parse(res.text)).toMatchObject({ status: 'not_ready', reasons: ['redis down'] });
  });

  it('answers 503 not_ready without the error text when the health function rejects', async () => {
    const { base, state } = await start();
    state.fail = new Error('connect ECONNREFUSED redis://:hunter2@10.0.0.9:6379');
    const res = await call(base, '/readyz');
    expect(res.status).toBe(503);
    expect(JSON.parse(res.text)).toEqual({ status: 'not_ready', reasons: ['health check failed'] });
    expect(res.text).not.toContain('hunter2');
  });
});

describe('GET /metrics', () => {
  it('serves the Prometheus text with every bridge metric and the queue depths read at scrape time', async () => {
    const { base, metrics } = await start();
    metrics.eventReceived('c2c.message.created');
    metrics.eventEnqueued('backend');
    metrics.delivery('backend', 'retry', 0.3);
    metrics.reconnect(1, 'zombie');
    metrics.frameRejected('too_large');
    metrics.shardStatus(1, 'resumed');
    metrics.setJournalDepthSource(() => 17);
    metrics.setQueueDepthSource(() =>
      Promise.resolve([
        { target: 'backend', state: 'waiting', count: 12 },
        { target: 'backend', state: 'delayed', count: 4 },
      ]),
    );

    const res = await call(base, '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe(metrics.contentType);
    for (const name of [...BRIDGE_METRIC_NAMES, 'process_cpu_seconds_total']) {
      expect(res.text).toContain(`# TYPE ${name} `);
    }
    expect(res.text).toContain('qqwb_queue_depth{target="backend",state="waiting"} 12');
    expect(res.text).toContain('qqwb_queue_depth{target="backend",state="delayed"} 4');
    expect(res.text).toContain('qqwb_journal_events 17');
    expect(res.text).toContain('qqwb_gateway_reconnects_total{shard="1",reason="zombie"} 1');
  });

  it('still answers 200 when the queue depth source throws', async () => {
    const { base, metrics } = await start();
    metrics.eventEnqueued('backend');
    metrics.setQueueDepthSource(() => Promise.reject(new Error('redis is gone')));
    const res = await call(base, '/metrics');
    expect(res.status).toBe(200);
    expect(res.text).toContain('qqwb_events_enqueued_total{target="backend"} 1');
    expect(res.text).not.toContain('redis is gone');
  });

  it('answers HEAD without a body', async () => {
    const { base } = await start();
    const res = await call(base, '/metrics', { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.text).toBe('');
  });
});

describe('/admin/*', () => {
  const ok: AdminRoutes = (req, res) => {
    if (req.url !== '/admin/queues') return false;
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end('dashboard');
    return true;
  };

  it('does not exist (404) when no admin token is configured, even with a bearer header', async () => {
    let called = false;
    const { base } = await start({
      adminRoutes: () => {
        called = true;
        return true;
      },
    });
    for (const headers of [{}, { authorization: 'Bearer ' }, { authorization: `Bearer ${TOKEN}` }]) {
      expect((await call(base, '/admin/queues', { headers })).status).toBe(404);
    }
    expect(called).toBe(false);
  });

  it('answers 401 with a Bearer challenge without or with a wrong token, never echoing it', async () => {
    const { base } = await start({ config: { adminToken: TOKEN }, adminRoutes: ok });
    const missing = await call(base, '/admin/queues');
    expect(missing.status).toBe(401);
    expect(missing.headers['www-authenticate']).toMatch(/^Bearer realm=/);
    expect(JSON.parse(missing.text)).toEqual({ error: 'unauthorized' });

    for (const authorization of [
      `Bearer ${TOKEN}x`,
      `Bearer ${TOKEN.slice(1)}`,
      `Basic ${TOKEN}`,
      TOKEN,
      'Bearer',
    ]) {
      const wrong = await call(base, '/admin/queues', { headers: { authorization } });
      expect(wrong.status).toBe(401);
      expect(wrong.headers['www-authenticate']).toContain('error="invalid_token"');
      expect(wrong.text).not.toContain(TOKEN.slice(5, 20));
    }
  });

  it('passes authorized requests to adminRoutes, which answers or declines with 404', async () => {
    const { base } = await start({ config: { adminToken: TOKEN }, adminRoutes: ok });
    const headers = { authorization: `Bearer ${TOKEN}` };
    const res = await call(base, '/admin/queues', { headers });
    expect(res.status).toBe(200);
    expect(res.text).toBe('dashboard');
    expect((await call(base, '/admin/other', { headers })).status).toBe(404);
    expect((await call(base, '/admin/queues', { method: 'POST', headers })).status).toBe(200);
  });

  it('answers 404 for an authorized request when there are no admin routes yet', async () => {
    const { base } = await start({ config: { adminToken: TOKEN } });
    const res = await call(base, '/admin/queues', { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(404);
  });

  it('gates paths that normalize into /admin, such as /metrics/../admin/queues', async () => {
    let seen = 0;
    const { base, server } = await start({
      config: { adminToken: TOKEN },
      adminRoutes: () => {
        seen += 1;
        return false;
      },
    });
    const { port } = server.address()!;
    for (const target of [
      '/metrics/../admin/queues',
      '/healthz/%2e%2e/admin/queues',
      '//evil/admin/queues',
    ]) {
      const reply = await rawRequest(port, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      expect(reply).toMatch(/^HTTP\/1\.1 401/);
    }
    expect((await call(base, '/admin')).status).toBe(401);
    expect(seen).toBe(0);
  });

  it('turns an admin route that throws into a 500 and keeps serving', async () => {
    const { base } = await start({
      config: { adminToken: TOKEN },
      adminRoutes: () => Promise.reject(new Error(`boom ${TOKEN}`)),
    });
    const res = await call(base, '/admin/x', { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(500);
    expect(JSON.parse(res.text)).toEqual({ error: 'internal_error' });
    expect((await call(base, '/healthz')).status).toBe(200);
  });
});

describe('other requests', () => {
  it('answers 404 JSON for unknown paths without echoing them, and ignores query strings on known ones', async () => {
    const { base } = await start();
    const res = await call(base, '/nope/secret-looking-path');
    expect(res.status).toBe(404);
    expect(JSON.parse(res.text)).toEqual({ error: 'not_found' });
    expect((await call(base, '/healthz/')).status).toBe(404);
    expect((await call(base, '/healthz?probe=1')).status).toBe(200);
  });

  it('answers 405 with Allow for a wrong method on a known route', async () => {
    const { base } = await start();
    for (const method of ['POST', 'PUT', 'DELETE'] as const) {
      const res = await call(base, '/metrics', { method });
      expect(res.status).toBe(405);
      expect(res.headers.allow).toBe('GET, HEAD');
    }
  });

  it('answers 400 to a malformed request and keeps serving', async () => {
    const { base, server } = await start();
    const { port } = server.address()!;
    const reply = await rawRequest(port, 'NOT HTTP AT ALL\r\n\r\n');
    expect(reply).toMatch(/^HTTP\/1\.1 400/);
    expect((await call(base, '/healthz')).status).toBe(200);
  });
});

describe('lifecycle', () => {
  it('binds nothing until listen(), reports the real port, and releases it on close()', async () => {
    const server = createHttpServer({
      config: { host: '127.0.0.1', port: 0, adminToken: '', apiTokens: [] },
      metrics: createMetrics(),
      health: () => Promise.reject(new Error('unused')),
      logger: silentLogger(),
    });
    servers.push(server);
    expect(server.address()).toBeUndefined();
    const bound = await server.listen();
    expect(bound.host).toBe('127.0.0.1');
    expect(bound.port).toBeGreaterThan(0);
    expect(server.address()).toEqual(bound);
    await server.close();
    expect(server.address()).toBeUndefined();
    await server.close();
  });

  it('rejects listen() with BRIDGE_ERR_CONFIG when the port is taken', async () => {
    const first = await start();
    const port = first.server.address()!.port;
    const second = createHttpServer({
      config: { host: '127.0.0.1', port, adminToken: '', apiTokens: [] },
      metrics: createMetrics(),
      health: () => Promise.reject(new Error('unused')),
      logger: silentLogger(),
    });
    const err: unknown = await second.listen().catch((e: unknown) => e);
    expect(isBridgeError(err, 'BRIDGE_ERR_CONFIG')).toBe(true);
    expect(String(err)).toContain('EADDRINUSE');
  });

  it('warns that /metrics and /readyz are reachable when bound to a non-loopback address', async () => {
    const { logger, lines } = captureLogger('info');
    await start({ config: { host: '0.0.0.0', adminToken: TOKEN }, logger });
    const warnings = lines().filter((line) => line.level === 40);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.msg).toContain('/metrics and /readyz are reachable from the network');
    expect(JSON.stringify(lines())).not.toContain(TOKEN);
  });

  it('does not warn on loopback', async () => {
    const { logger, lines } = captureLogger('info');
    await start({ logger });
    expect(lines().filter((line) => line.level === 40)).toEqual([]);
  });
});
