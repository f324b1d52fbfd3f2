import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { isBridgeError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { createHttpServer, type ExtraRoute, type HttpServer } from '../../src/server/http.js';
import { createMetrics } from '../../src/server/metrics.js';
import { sendJson } from '../../src/server/respond.js';

let server: HttpServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

function build(routes: ReadonlyMap<string, ExtraRoute>): HttpServer {
  return createHttpServer({
    config: { host: '127.0.0.1', port: 0, adminToken: 'admin-token', apiTokens: [] },
    metrics: createMetrics(),
    health: () => Promise.reject(new Error('not used')),
    logger: silentLogger(),
    routes,
  });
}

const echo: ExtraRoute = (req: IncomingMessage, res: ServerResponse) =>
  Promise.resolve(sendJson(req, res, 200, { method: req.method, url: req.url }));

describe('extra routes', () => {
  it('hands every method on the exact normalized path to the route, and leaves the built-in routes alone', async () => {
    server = build(new Map([['/qq/callback', echo]]));
    const { host, port } = await server.listen();
    const base = `http://${host}:${port}`;
    const posted = await fetch(`${base}/qq/callback`, { method: 'POST', body: '{}' });
    expect(await posted.json()).toEqual({ method: 'POST', url: '/qq/callback' });
    const viaDots = await fetch(`${base}/x/../qq/callback?a=1`, { method: 'PUT' });
    expect(await viaDots.json()).toEqual({ method: 'PUT', url: '/qq/callback?a=1' });
    expect((await fetch(`${base}/qq/callback/more`)).status).toBe(404);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it.each(['/healthz', '/readyz', '/metrics', '/admin', '/admin/queues'])(
    'refuses to build with a route on the server path %s',
    (path) => {
      let thrown: unknown;
      try {
        build(new Map([[path, echo]]));
      } catch (err) {
        thrown = err;
      }
      expect(isBridgeError(thrown, 'BRIDGE_ERR_CONFIG')).toBe(true);
    },
  );
});
