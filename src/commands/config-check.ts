import { isIP } from 'node:net';
import type { BridgeConfig, TargetConfig } from '../config/types.js';
import { privateAddressKind } from '../delivery/ssrf-guard.js';
import { describeIntents } from '../qq/intents.js';
import { describeRedisMode } from '../redis/describe.js';
import { formatDuration } from '../util/duration.js';

/**
 * What the URL's host is known to be without resolving it: the kind of a private IP literal (`loopback`,
 * `private, RFC 1918`…), `loopback` for `localhost` and `*.localhost` (RFC 6761 reserves them for the local
 * host), else undefined. `config check` does no DNS, so a name that resolves privately is not known here.
 */
function knownPrivateHost(url: URL): string | undefined {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (isIP(host) !== 0) return privateAddressKind(host);
  const name = host.toLowerCase().replace(/\.$/, '');
  return name === 'localhost' || name.endsWith('.localhost') ? 'loopback' : undefined;
}

/** The URL as safe to print: credentials and query string (where tokens tend to be put) replaced. */
function displayUrl(raw: string): string {
  try {
    const url = new URL(raw);
    const credentials = url.username !== '' || url.password !== '' ? '[redacted]@' : '';
    const query = url.search === '' ? '' : '?[redacted]';
    return `${url.protocol}//${credentials}${url.host}${url.pathname}${query}`;
  } catch {
    return '[unparseable url]';
  }
}

/**
 * Whether the target says its host is internal: `allow_private: true` on a host name, which `config check` cannot
 * resolve (a compose service such as `receiver`). Plain http to it is the operator's stated choice, not an
 * oversight, so it gets no warning. An IP literal is known either way: a public one is still warned about.
 */
function declaredInternal(target: TargetConfig, url: URL): boolean {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return target.allowPrivate && isIP(host) === 0;
}

function targetWarnings(target: TargetConfig): string[] {
  let url: URL;
  try {
    url = new URL(target.url);
  } catch {
    return []; // the loader already refuses such a URL
  }
  const warnings: string[] = [];
  const privateKind = knownPrivateHost(url);
  if (url.protocol === 'http:' && privateKind === undefined && !declaredInternal(target, url)) {
    warnings.push(
      `target "${target.id}": ${url.protocol}//${url.host} is plain http to a host that is not known to be ` +
        'private; payloads (message content) and signatures travel in clear — use https://',
    );
  }
  if (privateKind !== undefined && !target.allowPrivate) {
    warnings.push(
      `target "${target.id}": ${url.hostname} is not a public address (${privateKind}), so the SSRF guard ` +
        'refuses it; every delivery will be dead-lettered — set allow_private: true on this target if that ' +
        'is intended',
    );
  }
  return warnings;
}

/**
 * Security warnings about a valid config, one line each, in target order; empty when there is nothing to say.
 * Warnings never fail `config check`: plain http to a trusted internal host can be a deliberate choice.
 */
export function configWarnings(config: BridgeConfig): string[] {
  // Webhook mode holds no shards, so there is nothing to rotate.
  const rotation = config.qq.mode === 'websocket' ? rotationWarning(config.gateway.rotateEveryMs) : undefined;
  return [...(rotation ? [rotation] : []), ...config.targets.flatMap(targetWarnings)];
}

/** QQ allows about 1000 session starts a day (docs/qq-protocol.md §7.1); an age rotation spends one per shard. */
const DAILY_SESSION_STARTS = 1000;

/** A rotation period under an hour spends a visible share of QQ's daily session starts. */
function rotationWarning(rotateEveryMs: number): string | undefined {
  if (rotateEveryMs === 0 || rotateEveryMs >= 3_600_000) return undefined;
  const perDay = Math.floor(86_400_000 / rotateEveryMs);
  return (
    `gateway.rotate_every ${formatDuration(rotateEveryMs)} rotates each shard ${perDay} times a day, ` +
    `spending as many of QQ's ~${DAILY_SESSION_STARTS} daily session starts (rotation pauses while few are left); ` +
    'use 1h or more (default 24h) outside tests'
  );
}

/** The outbound worker's settings, as the YAML writes them: `concurrency 8  timeout 10s  rate 20 per 1s  …`. */
function outboundLine(config: BridgeConfig): string {
  const { concurrency, timeoutMs, rateLimit, retry } = config.outbound;
  return (
    `concurrency ${concurrency}  timeout ${formatDuration(timeoutMs)}  ` +
    `rate limit ${rateLimit.max} per ${formatDuration(rateLimit.perMs)}  ` +
    `retry ${retry.attempts}× from ${formatDuration(retry.baseMs)} to ${formatDuration(retry.maxMs)}`
  );
}

/** The Redis mode and where it connects (the URL without credentials), the node count, never a password. */
function redisLine(config: BridgeConfig): string {
  const { connection, prefix } = config.redis;
  const where = connection.kind === 'single' ? `  ${displayUrl(connection.url)}` : '';
  return `${describeRedisMode(connection)}${where}  prefix ${prefix}`;
}

/** Whether the send API is on, and with how many tokens; never the tokens themselves. */
function sendApiLine(config: BridgeConfig): string {
  const count = config.server.apiTokens.length;
  if (count === 0) return 'off (server.api_tokens is empty)';
  return `on, /v1 with ${count} token${count === 1 ? '' : 's'}`;
}

/** `host:port` as `server.listen` writes it, an IPv6 host in brackets. */
function listenAddress(server: BridgeConfig['server']): string {
  return `${server.host.includes(':') ? `[${server.host}]` : server.host}:${server.port}`;
}

/** How a `qq.mode: websocket` bridge reaches QQ: the gateway session, its intents and shards. */
function websocketLines(config: BridgeConfig): string[] {
  const shards =
    config.qq.shards.mode === 'auto'
      ? 'auto (from /gateway/bot)'
      : `${config.qq.shards.ids.join(', ')} of ${config.qq.shards.total}`;
  return [
    '  mode       websocket (holds the QQ gateway session)',
    `  intents    ${describeIntents(config.qq.intents).join(' | ')} (${config.qq.intents})`,
    `  shards     ${shards}`,
  ];
}

/**
 * How a `qq.mode: webhook` bridge is reached: the callback route on `server.listen`, and the public URL QQ must be
 * given (docs/webhook-mode.md "Exposing the callback URL"). Intents and shards are not used, so not shown.
 */
function webhookLines(config: BridgeConfig): string[] {
  const { path, maxBodyBytes, maxSkewMs } = config.qq.webhook;
  return [
    '  mode       webhook (QQ POSTs signed callbacks; no WebSocket, so intents and shards are not used)',
    `  callback   POST ${path} on server.listen ${listenAddress(config.server)}  ` +
      `body ≤ ${maxBodyBytes} bytes  timestamp skew ≤ ${formatDuration(maxSkewMs)}`,
    `  public url https://<your domain>${path} (register it with QQ; HTTPS on port 443, 8443, 80 or 8080, ` +
      'through a TLS proxy to server.listen — docs/webhook-mode.md)',
  ];
}

/**
 * A human summary of a valid config: where it connects, the mode (intents and shards for websocket, the callback
 * route and its public URL for webhook), the outbound settings and whether the send
 * API is on, each target's filters, and a `warnings` section ({@link configWarnings}). Target URLs are shown
 * without credentials or query string, and tokens only as a count.
 */
export function summarizeConfig(config: BridgeConfig): string {
  const lines = [
    `config ${config.source}: ok`,
    `  app id     ${config.qq.appId}`,
    ...(config.qq.mode === 'webhook' ? webhookLines(config) : websocketLines(config)),
    `  api        ${config.qq.apiBase}  token ${config.qq.tokenUrl}`,
    `  redis      ${redisLine(config)}`,
    `  server     ${listenAddress(config.server)}  admin ${config.server.adminToken ? 'on' : 'off'}`,
    `  send api   ${sendApiLine(config)}`,
    `  outbound   ${outboundLine(config)}`,
    `  targets    ${config.targets.length}`,
  ];
  const rows = config.targets.map((t) => [
    t.id,
    displayUrl(t.url),
    t.events.join(','),
    t.groups.length === 0 ? 'all' : `${t.groups.length} listed`,
    `${t.retry.attempts}×, ${t.timeoutMs} ms, c=${t.concurrency}`,
  ]);
  if (rows.length > 0) {
    const header = ['id', 'url', 'events', 'groups', 'retry/timeout/concurrency'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
    const format = (cells: string[]): string =>
      '    ' +
      cells
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd();
    lines.push(format(header), ...rows.map(format));
  }
  const warnings = configWarnings(config);
  lines.push(`  warnings   ${warnings.length === 0 ? 'none' : warnings.length}`);
  lines.push(...warnings.map((warning) => `    - ${warning}`));
  return lines.join('\n');
}
