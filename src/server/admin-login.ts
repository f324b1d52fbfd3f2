import type { IncomingMessage, ServerResponse } from 'node:http';
import { SESSION_COOKIE, SESSION_TTL_SEC, type AdminSession } from './admin-session.js';
import { secretCheck } from './bearer.js';
import type { LoginCodes } from './login-codes.js';
import { readRawBody } from '../util/read-body.js';
import { send, sendJson } from './respond.js';

/** The login form (GET) and its target (POST). */
export const LOGIN_PATH = '/admin/login';
/** Clears the session cookie (any method: logging out is harmless, so a plain link may do it). */
export const LOGOUT_PATH = '/admin/logout';
/** Where a successful login lands. */
export const AFTER_LOGIN_PATH = '/admin/queues/';

/** A form post carrying a token is tiny; anything bigger is refused before it is buffered. */
const MAX_FORM_BYTES = 4096;
const HTML = 'text/html; charset=utf-8';

/** The error a spent login link shows above the form. */
export const LINK_USED = 'This login link was already used. Log in with the admin token.';
/** The error an unknown login link shows above the form. */
export const LINK_INVALID = 'That login link is not valid. Log in with the admin token.';

/**
 * Answers the login and logout routes; they are the only `/admin/*` routes reachable without credentials.
 *
 * @param codes - single-use codes that `GET /admin/login?code=…` accepts in place of the token, when the server's
 *   builder issues them (the demo); without it, every code is refused
 */
export function createLoginRoutes(
  token: string,
  session: AdminSession,
  codes?: LoginCodes,
): (req: IncomingMessage, res: ServerResponse, path: string) => Promise<void> {
  const isToken = secretCheck(token);
  const loggedIn = (req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(303, {
      Location: AFTER_LOGIN_PATH,
      'Set-Cookie': cookie(req, session.mint(), SESSION_TTL_SEC),
      'Cache-Control': 'no-store',
      // The dashboard's requests must not carry the login URL (and its code) as a Referer.
      'Referrer-Policy': 'no-referrer',
    });
    res.end();
  };

  return async (req, res, path) => {
    if (path === LOGOUT_PATH) {
      res.writeHead(303, {
        Location: LOGIN_PATH,
        'Set-Cookie': cookie(req, '', 0),
        'Cache-Control': 'no-store',
      });
      res.end();
      return;
    }
    const code = new URL(req.url ?? '/', 'http://localhost').searchParams.get('code');
    // Only GET spends a code: a HEAD (a link preview, say) shows the form and leaves the link working.
    if (req.method === 'GET' && code !== null) {
      const redeemed = codes?.redeem(code) ?? 'unknown';
      if (redeemed === 'accepted') return loggedIn(req, res);
      return send(req, res, 401, HTML, loginPage(redeemed === 'spent' ? LINK_USED : LINK_INVALID));
    }
    if (req.method === 'GET' || req.method === 'HEAD') return send(req, res, 200, HTML, loginPage());
    if (req.method !== 'POST') {
      return sendJson(req, res, 405, { error: 'method_not_allowed' }, { Allow: 'GET, HEAD, POST' });
    }
    const read = await readRawBody(req, MAX_FORM_BYTES);
    if (!read.ok) {
      // A client that hung up mid-body hears nothing; there is no one left to answer.
      if (read.reason === 'unreadable') return void res.destroy();
      return sendJson(req, res, 413, { error: 'payload_too_large' });
    }
    const form = new URLSearchParams(read.bytes.toString('utf8'));
    if (!isToken(form.get('token') ?? undefined)) {
      return send(req, res, 401, HTML, loginPage('That is not the admin token.'));
    }
    loggedIn(req, res);
  };
}

/** The page a browser gets instead of JSON when it asks for an admin route without credentials. */
export function loginRequiredPage(): string {
  return page('<p>This page needs the admin token.</p>' + `<p><a href="${LOGIN_PATH}">Log in</a></p>`);
}

/**
 * `HttpOnly` keeps scripts (an XSS in a dashboard page) from reading it; `SameSite=Strict` keeps other sites from
 * riding it (CSRF on Retry/Delete); `Path=/admin` keeps it off every other route. `Secure` is added when the
 * request came over TLS, directly or through a proxy that says so: the server itself speaks plain HTTP.
 */
function cookie(req: IncomingMessage, value: string, maxAgeSec: number): string {
  const tls =
    (req.socket as { encrypted?: boolean }).encrypted === true ||
    req.headers['x-forwarded-proto'] === 'https';
  const attributes = [`Path=/admin`, `Max-Age=${maxAgeSec}`, 'HttpOnly', 'SameSite=Strict'];
  if (tls) attributes.push('Secure');
  return [`${SESSION_COOKIE}=${value}`, ...attributes].join('; ');
}

function loginPage(error?: string): string {
  const message = error === undefined ? '' : `<p class="error" role="alert">${error}</p>`;
  return page(
    `${message}<form method="post" action="${LOGIN_PATH}">` +
      '<label for="token">Admin token (<code>server.admin_token</code>)</label>' +
      '<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>' +
      '<button type="submit">Log in</button></form>',
  );
}

function page(body: string): string {
  return (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    '<title>qq-webhook-bridge admin</title><style>' +
    'body{font-family:system-ui,sans-serif;background:#f5f6f8;display:flex;justify-content:center;padding-top:12vh}' +
    'main{background:#fff;padding:2rem 2.5rem;border-radius:8px;box-shadow:0 1px 4px #0002;min-width:20rem}' +
    'h1{font-size:1.2rem;margin-top:0}label{display:block;margin-bottom:.4rem}' +
    'input{width:100%;box-sizing:border-box;padding:.5rem;margin-bottom:1rem;font-size:1rem}' +
    'button{padding:.5rem 1.2rem;font-size:1rem;cursor:pointer}.error{color:#b00020}' +
    `</style></head><body><main><h1>qq-webhook-bridge admin</h1>${body}</main></body></html>`
  );
}
