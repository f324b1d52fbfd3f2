import { PassThrough } from 'node:stream';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, silentLogger } from '../../src/log.js';
import { SESSION_COOKIE } from '../../src/server/admin-session.js';
import { createHttpServer, type AdminRoutes, type HttpServer } from '../../src/server/http.js';
import { createLoginCodes, type LoginCodes } from '../../src/server/login-codes.js';
import { createMetrics } from '../../src/server/metrics.js';

const TOKEN = 'login-token-that-must-never-be-echoed';

let servers: HttpServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

const dashboard: AdminRoutes = (req, res) => {
  if (req.url !== '/admin/queues/') return false;
  res.writeHead(200, { 'Content-Type': 'text/plain' });
  res.end('dashboard');
  return true;
};

async function start(adminToken = TOKEN): Promise<string> {
  const server = createHttpServer({
    config: { host: '127.0.0.1', port: 0, adminToken, apiTokens: [] },
    metrics: createMetrics(),
    health: () => Promise.reject(new Error('unused')),
    logger: silentLogger(),
    adminRoutes: dashboard,
  });
  servers.push(server);
  const { host, port } = await server.listen();
  return `http://${host}:${port}`;
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

async function call(
  url: string,
  init: { method?: 'GET' | 'POST' | 'PUT'; headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  const res = await request(url, {
    method: init.method ?? 'GET',
    headers: init.headers ?? {},
    ...(init.body === undefined ? {} : { body: init.body }),
  });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

function postToken(base: string, token: string): Promise<Reply> {
  return call(`${base}/admin/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }).toString(),
  });
}

function sessionCookie(reply: Reply): string {
  const header = reply.headers['set-cookie'];
  const line = Array.isArray(header) ? header[0] : header;
  return line!.split(';')[0]!;
}

describe('admin login for browsers', () => {
  it('serves the login form without credentials, and no other admin route', async () => {
    const base = await start();
    const form = await call(`${base}/admin/login`);
    expect(form.status).toBe(200);
    expect(form.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(form.text).toContain('<form method="post" action="/admin/login">');
    expect(form.text).toContain('name="token"');
    expect((await call(`${base}/admin/queues/`)).status).toBe(401);
  });

  it('sets an HttpOnly, SameSite=Strict cookie holding an HMAC, not the token, and redirects to the dashboard', async () => {
    const base = await start();
    const reply = await postToken(base, TOKEN);
    expect(reply.status).toBe(303);
    expect(reply.headers.location).toBe('/admin/queues/');
    const setCookie = String(reply.headers['set-cookie']);
    expect(setCookie).toMatch(new RegExp(`^${SESSION_COOKIE}=v1\\.\\d+\\.[A-Za-z0-9_-]{43}; `));
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Strict');
    expect(setCookie).toContain('Path=/admin');
    expect(setCookie).not.toContain('Secure');
    expect(setCookie).not.toContain(TOKEN);
  });

  it('marks the cookie Secure when a TLS proxy forwarded the login', async () => {
    const base = await start();
    const reply = await call(`${base}/admin/login`, {
      method: 'POST',
      headers: { 'x-forwarded-proto': 'https' },
      body: `token=${TOKEN}`,
    });
    expect(String(reply.headers['set-cookie'])).toContain('Secure');
  });

  it('lets the cookie stand in for the Bearer header on every admin route', async () => {
    const base = await start();
    const cookie = sessionCookie(await postToken(base, TOKEN));
    const res = await call(`${base}/admin/queues/`, { headers: { cookie } });
    expect(res.status).toBe(200);
    expect(res.text).toBe('dashboard');
    expect((await call(`${base}/admin/queues/`, { method: 'PUT', headers: { cookie } })).status).toBe(200);
    expect((await call(`${base}/admin/other`, { headers: { cookie } })).status).toBe(404);
  });

  it('answers a wrong token with 401 and the form again, setting no cookie and echoing nothing', async () => {
    const base = await start();
    const reply = await postToken(base, `${TOKEN}-wrong`);
    expect(reply.status).toBe(401);
    expect(reply.headers['set-cookie']).toBeUndefined();
    expect(reply.text).toContain('That is not the admin token.');
    expect(reply.text).not.toContain(TOKEN);
    expect((await postToken(base, '')).status).toBe(401);
  });

  it('refuses a cookie minted for another token, or a forged one', async () => {
    const base = await start();
    const otherBase = await start(`${TOKEN}-other`);
    const foreign = sessionCookie(await postToken(otherBase, `${TOKEN}-other`));
    for (const cookie of [
      foreign,
      `${SESSION_COOKIE}=${TOKEN}`,
      `${SESSION_COOKIE}=v1.9999999999.${'A'.repeat(43)}`,
    ]) {
      const res = await call(`${base}/admin/queues/`, { headers: { cookie } });
      expect(res.status).toBe(401);
      expect(JSON.parse(res.text)).toEqual({ error: 'unauthorized' });
    }
  });

  it('gives a browser without credentials a 401 page that links to the login form', async () => {
    const base = await start();
    const res = await call(`${base}/admin/queues/`, { headers: { accept: 'text/html,*/*' } });
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer realm=/);
    expect(res.text).toContain('href="/admin/login"');
  });

  it('logs out by expiring the cookie', async () => {
    const base = await start();
    const reply = await call(`${base}/admin/logout`, { method: 'POST' });
    expect(reply.status).toBe(303);
    expect(reply.headers.location).toBe('/admin/login');
    expect(String(reply.headers['set-cookie'])).toMatch(
      new RegExp(`^${SESSION_COOKIE}=; Path=/admin; Max-Age=0`),
    );
  });

  it('refuses oversized login bodies and other methods', async () => {
    const base = await start();
    const big = await call(`${base}/admin/login`, { method: 'POST', body: `token=${'x'.repeat(10_000)}` });
    expect(big.status).toBe(413);
    const put = await call(`${base}/admin/login`, { method: 'PUT' });
    expect(put.status).toBe(405);
    expect(put.headers.allow).toBe('GET, HEAD, POST');
  });

  it('does not exist when no admin token is configured', async () => {
    const base = await start('');
    expect((await call(`${base}/admin/login`)).status).toBe(404);
    expect((await postToken(base, '')).status).toBe(404);
  });
});

describe('single-use login links', () => {
  let logged: string[];

  /** A server that accepts `codes`, logging into `logged`. */
  async function startWithCodes(codes: LoginCodes): Promise<string> {
    logged = [];
    const destination = new PassThrough();
    destination.on('data', (chunk: Buffer) => logged.push(chunk.toString()));
    const server = createHttpServer({
      config: { host: '127.0.0.1', port: 0, adminToken: TOKEN, apiTokens: [] },
      metrics: createMetrics(),
      health: () => Promise.reject(new Error('unused')),
      logger: createLogger({ level: 'trace', destination }),
      adminRoutes: dashboard,
      loginCodes: codes,
    });
    servers.push(server);
    const { host, port } = await server.listen();
    return `http://${host}:${port}`;
  }

  it('logs a browser in once: the cookie opens the dashboard, a second use is refused', async () => {
    const codes = createLoginCodes();
    const base = await startWithCodes(codes);
    const code = codes.issue();
    const first = await call(`${base}/admin/login?code=${code}`);
    expect(first.status).toBe(303);
    expect(first.headers['location']).toBe('/admin/queues/');
    expect(first.headers['referrer-policy']).toBe('no-referrer');
    const dashboardPage = await call(`${base}/admin/queues/`, { headers: { cookie: sessionCookie(first) } });
    expect(dashboardPage).toMatchObject({ status: 200, text: 'dashboard' });

    const again = await call(`${base}/admin/login?code=${code}`);
    expect(again.status).toBe(401);
    expect(again.headers['set-cookie']).toBeUndefined();
    expect(again.text).toContain('This login link was already used.');
    expect(again.text).toContain('<form method="post" action="/admin/login">');
    expect(logged.join('')).not.toContain(code);
  });

  it('refuses a wrong code, and any code on a server that issues none, with the form and no cookie', async () => {
    const codes = createLoginCodes();
    const issued = codes.issue();
    const base = await startWithCodes(codes);
    // The issued code with its last character changed (to another one, whatever it was).
    const guess = `${issued.slice(0, -1)}${issued.endsWith('A') ? 'B' : 'A'}`;
    const wrong = await call(`${base}/admin/login?code=${guess}`);
    expect(wrong.status).toBe(401);
    expect(wrong.headers['set-cookie']).toBeUndefined();
    expect(wrong.text).toContain('That login link is not valid.');
    // The wrong guess did not spend the real code.
    expect((await call(`${base}/admin/login?code=${issued}`)).status).toBe(303);

    const plain = await start();
    const other = createLoginCodes().issue();
    const refused = await call(`${plain}/admin/login?code=${other}`);
    expect(refused.status).toBe(401);
    expect(refused.headers['set-cookie']).toBeUndefined();
  });

  it('leaves the code unspent on HEAD (a link preview)', async () => {
    const codes = createLoginCodes();
    const base = await startWithCodes(codes);
    const code = codes.issue();
    const preview = await request(`${base}/admin/login?code=${code}`, { method: 'HEAD' });
    await preview.body.dump();
    expect(preview.statusCode).toBe(200);
    expect((await call(`${base}/admin/login?code=${code}`)).status).toBe(303);
  });
});
