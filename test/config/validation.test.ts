import { describe, expect, it } from 'vitest';
import { ConfigError, formatConfigError, parseConfig } from '../../src/config/index.js';
import { isBridgeError } from '../../src/errors.js';
import { FILE, MINIMAL, WHSEC, WITH_TARGET, issuesOf, shown } from './helpers.js';

const SECRET_HOWTO = 'generate one with: echo "whsec_$(openssl rand -base64 32)"';

/** A file with one target whose id, url and secret lines (5, 6, 7) are given as written. */
function withTarget(id: string, url: string, secret: string): string {
  return `${MINIMAL}targets:\n  - id: ${id}\n    url: ${url}\n    secret: ${secret}\n`;
}

/** [file text, the one issue expected as `line:column path: message`]. */
const INVALID: readonly (readonly [string, string])[] = [
  // qq (line 4 is a key appended under qq:)
  [
    `${MINIMAL}  intents: [GROUP_AND_C2C_EVENTS]\n`,
    '4:13 qq.intents[0]: unknown intent "GROUP_AND_C2C_EVENTS"; did you mean GROUP_AND_C2C_EVENT?; valid names: ' +
      'GUILDS, GUILD_MEMBERS, GUILD_MESSAGES, GUILD_MESSAGE_REACTIONS, DIRECT_MESSAGE, OPEN_FORUMS_EVENT, ' +
      'AUDIO_OR_LIVE_CHANNEL_MEMBER, GROUP_MEMBERS, GROUP_AND_C2C_EVENT, INTERACTION, MESSAGE_AUDIT, FORUMS_EVENT, ' +
      'AUDIO_ACTION, PUBLIC_GUILD_MESSAGES',
  ],
  [
    `${MINIMAL}  intents: [-1]\n`,
    '4:13 qq.intents[0]: expected an intent name like GROUP_AND_C2C_EVENT or an integer bit mask 0..2147483647; found -1',
  ],
  [
    `${MINIMAL}  intents: []\n`,
    '4:12 qq.intents: expected at least one intent, like [GROUP_AND_C2C_EVENT]; found an empty list',
  ],
  [
    `${MINIMAL}  intents: [0]\n`,
    '4:12 qq.intents: the intents add up to 0, which subscribes to nothing; name at least one intent',
  ],
  [
    `${MINIMAL}  intents: GROUP_AND_C2C_EVENT\n`,
    '4:12 qq.intents: expected a list of intents, like [GROUP_AND_C2C_EVENT]; found "GROUP_AND_C2C_EVENT"',
  ],
  [
    `${MINIMAL}  shards: 0\n`,
    '4:11 qq.shards: expected auto, a shard count N (1..4096), or { total: N, ids: [0, 1, …] }; found 0',
  ],
  [
    `${MINIMAL}  shards: atuo\n`,
    '4:11 qq.shards: expected auto, a shard count N (1..4096), or { total: N, ids: [0, 1, …] }; found "atuo"',
  ],
  [
    `${MINIMAL}  shards: { total: 2, ids: [1, 2] }\n`,
    '4:32 qq.shards.ids[1]: shard id 2 is out of range; expected ids from 0 to 1 (below total: 2)',
  ],
  [`${MINIMAL}  shards: { total: 2, ids: [1, 1] }\n`, '4:32 qq.shards.ids[1]: duplicate shard id 1'],
  [
    `${MINIMAL}  shards: { total: 2 }\n`,
    '4:3 qq.shards.ids: expected a list of shard ids, like [0, 1]; found nothing (the key is missing)',
  ],
  [
    `${MINIMAL}  mode: webhok\n`,
    '4:9 qq.mode: expected websocket or webhook; found "webhok"; did you mean webhook?',
  ],
  [`${MINIMAL}  mode: http\n`, '4:9 qq.mode: expected websocket or webhook; found "http"'],
  [
    `${MINIMAL}  webhook: { path: qq/callback }\n`,
    '4:20 qq.webhook.path: expected a URL path like /qq/callback (starting with /, no spaces, ? or #); found "qq/callback"',
  ],
  [
    `${MINIMAL}  webhook: { path: "/qq/callback?bot=1" }\n`,
    '4:20 qq.webhook.path: expected a URL path like /qq/callback (starting with /, no spaces, ? or #); found "/qq/callback?bot=1"',
  ],
  [
    `${MINIMAL}  webhook: { path: /qq/../metrics }\n`,
    '4:20 qq.webhook.path: expected a path in normalized form (no . or .. segments, non-ASCII percent-encoded), like /metrics; found "/qq/../metrics"',
  ],
  [
    `${MINIMAL}  webhook: { path: "//" }\n`,
    '4:20 qq.webhook.path: expected a path the HTTP server can parse, like /qq/callback (a leading // starts a host name); found "//"',
  ],
  [
    `${MINIMAL}  webhook: { path: /metrics }\n`,
    "4:20 qq.webhook.path: the path /metrics is one of the server's own routes (/healthz, /readyz, /metrics, /admin/*, /v1/*); choose another, like /qq/callback",
  ],
  [
    `${MINIMAL}  webhook: { path: /admin/qq }\n`,
    "4:20 qq.webhook.path: the path /admin/qq is one of the server's own routes (/healthz, /readyz, /metrics, /admin/*, /v1/*); choose another, like /qq/callback",
  ],
  [
    `${MINIMAL}  webhook: { path: /v1/qq }\n`,
    "4:20 qq.webhook.path: the path /v1/qq is one of the server's own routes (/healthz, /readyz, /metrics, /admin/*, /v1/*); choose another, like /qq/callback",
  ],
  [
    `${MINIMAL}  webhook: { max_body_bytes: 0 }\n`,
    '4:30 qq.webhook.max_body_bytes: expected a size in bytes (a positive integer); found 0',
  ],
  [
    `${MINIMAL}  webhook: { max_skew: 300 }\n`,
    '4:24 qq.webhook.max_skew: 300 has no unit; write it with one of ms, s, m, h, d, e.g. 300s',
  ],
  [
    `${MINIMAL}  webhook: { max_skew: 0s }\n`,
    '4:24 qq.webhook.max_skew: expected a duration greater than zero, like 500ms or 10s; found "0s"',
  ],
  [
    `${MINIMAL}  token_url: ftp://bots.qq.com/token\n`,
    '4:14 qq.token_url: expected an http(s) URL like https://example.com/qq/events; found "ftp://bots.qq.com/token"',
  ],
  [
    `${MINIMAL}  api_base: not a url\n`,
    '4:13 qq.api_base: expected an http(s) URL like https://example.com/qq/events; found "not a url"',
  ],
  // sections (line 4 is a section appended at the top level)
  [
    `${MINIMAL}redis: { url: "http://localhost:6379" }\n`,
    '4:15 redis.url: expected a Redis URL like redis://127.0.0.1:6379 (rediss:// for TLS); found "http://localhost:6379"',
  ],
  [
    `${MINIMAL}redis: { prefix: "a b" }\n`,
    '4:18 redis.prefix: expected a key prefix like {qqwb}: a name in braces (a bare name is read as in braces), no spaces or other braces; found "a b"',
  ],
  [
    `${MINIMAL}redis: { prefix: "{qqwb}:eu" }\n`,
    '4:18 redis.prefix: expected a key prefix like {qqwb}: a name in braces (a bare name is read as in braces), no spaces or other braces; found "{qqwb}:eu"',
  ],
  [
    `${MINIMAL}redis:\n`,
    '4:1 redis: expected a mapping with url, cluster, sentinel, prefix, min_replicas, replica_wait_timeout; ' +
      'found an empty value',
  ],
  [
    `${MINIMAL}server: { listen: "9464" }\n`,
    '4:19 server.listen: expected host:port like 127.0.0.1:9464, [::1]:9464 or :9464 (all interfaces); found "9464"; did you mean :9464?',
  ],
  [
    `${MINIMAL}server: { listen: "[::1:9464" }\n`,
    '4:19 server.listen: expected host:port like 127.0.0.1:9464, [::1]:9464 or :9464 (all interfaces); found "[::1:9464"',
  ],
  [
    `${MINIMAL}server: { listen: "localhost:70000" }\n`,
    '4:19 server.listen: expected host:port like 127.0.0.1:9464, [::1]:9464 or :9464 (all interfaces); found "localhost:70000"',
  ],
  [
    `${MINIMAL}journal: { max_bytes: 0 }\n`,
    '4:23 journal.max_bytes: expected a size in bytes (a positive integer); found 0',
  ],
  [
    `${MINIMAL}gateway: { lease_ttl: 0s }\n`,
    '4:23 gateway.lease_ttl: expected a duration greater than zero, like 500ms or 10s; found "0s"',
  ],
  [
    `${MINIMAL}gateway: { replica_id: "gw:1" }\n`,
    "4:24 gateway.replica_id: expected a replica id unique per gateway process, without ':', '/' or whitespace, " +
      `like gw-1; found "gw:1", which holds ':', '/', whitespace or a control character`,
  ],
  [
    `${MINIMAL}gateway: { replica_id: "" }\n`,
    "4:24 gateway.replica_id: expected a replica id unique per gateway process, without ':', '/' or whitespace, " +
      'like gw-1; found an empty string, which needs at least one character',
  ],
  [
    `${MINIMAL}gateway: { replica_id: ${'x'.repeat(101)} }\n`,
    "4:24 gateway.replica_id: expected a replica id unique per gateway process, without ':', '/' or whitespace, " +
      `like gw-1; found "${'x'.repeat(59)}…", which is 101 characters long (at most 100)`,
  ],
  [
    `${MINIMAL}gateway: { rotate_every: 9s }\n`,
    '4:26 gateway.rotate_every: expected a duration from 10s to 7d (like 24h), or 0s to turn rotation off; ' +
      "each rotation spends one of the bot's daily session starts (about 1000), so rotating more often than " +
      'every 10 s would use them up within hours, and a session is not kept longer than 7d (degraded sessions ' +
      'were seen after about 3 days); found "9s"',
  ],
  [
    `${MINIMAL}gateway: { rotate_every: 8d }\n`,
    '4:26 gateway.rotate_every: expected a duration from 10s to 7d (like 24h), or 0s to turn rotation off; ' +
      "each rotation spends one of the bot's daily session starts (about 1000), so rotating more often than " +
      'every 10 s would use them up within hours, and a session is not kept longer than 7d (degraded sessions ' +
      'were seen after about 3 days); found "8d"',
  ],
  [
    `${MINIMAL}gateway: { rotate_every: 24 }\n`,
    '4:26 gateway.rotate_every: 24 has no unit; write it with one of ms, s, m, h, d, e.g. 24h',
  ],
  [
    `${MINIMAL}gateway: { max_frame_bytes: 1.5 }\n`,
    '4:29 gateway.max_frame_bytes: expected a size in bytes (a positive integer); found 1.5',
  ],
  [
    `${MINIMAL}delivery: { dedupe_window: 1 day }\n`,
    '4:28 delivery.dedupe_window: "1 day" is not a duration; write a number and one of ms, s, m, h, d, like ' +
      '500ms, 10s, 5m, 1h or 7d',
  ],
  [
    `${MINIMAL}delivery: { dedupe_window: "24" }\n`,
    '4:28 delivery.dedupe_window: "24" has no unit; write it with one of ms, s, m, h, d, e.g. 24s',
  ],
  [
    `${MINIMAL}delivery: { shutdown_grace: -5s }\n`,
    '4:29 delivery.shutdown_grace: "-5s" is negative; a duration is zero or more, like 1s',
  ],
  [
    `${MINIMAL}delivery: { dead_letter: { max_age: 9999999999d } }\n`,
    '4:37 delivery.dead_letter.max_age: "9999999999d" is too long; the longest duration is 104249991d ' +
      '(9007199254740991 ms)',
  ],
  [
    `${MINIMAL}delivery: { dead_letter: { max_age: 0d } }\n`,
    '4:37 delivery.dead_letter.max_age: expected a duration greater than zero, like 500ms or 10s; found "0d"',
  ],
  [
    `${MINIMAL}delivery: { dead_letter: { max_count: 0 } }\n`,
    '4:39 delivery.dead_letter.max_count: expected a number of dead letters (a positive integer); found 0',
  ],
  [
    `${MINIMAL}log: { level: warning }\n`,
    '4:15 log.level: expected one of fatal, error, warn, info, debug, trace; found "warning"; did you mean warn?',
  ],
  [
    `${MINIMAL}targets: { id: backend }\n`,
    '4:10 targets: expected a list of targets, each starting with - id: …; found a mapping',
  ],
  // a target's settings (line 8 is a key appended to the target)
  [
    `${WITH_TARGET}    timeout: 10 seconds\n`,
    '8:14 targets[0].timeout: "10 seconds" is not a duration; write a number and one of ms, s, m, h, d, like ' +
      '500ms, 10s, 5m, 1h or 7d',
  ],
  [
    `${WITH_TARGET}    timeout: 10\n`,
    '8:14 targets[0].timeout: 10 has no unit; write it with one of ms, s, m, h, d, e.g. 10s',
  ],
  [
    `${WITH_TARGET}    timeout: 0ms\n`,
    '8:14 targets[0].timeout: expected a duration greater than zero, like 500ms or 10s; found "0ms"',
  ],
  [`${WITH_TARGET}    concurrency: 0\n`, '8:18 targets[0].concurrency: expected a positive integer; found 0'],
  [
    `${WITH_TARGET}    concurrency: "8"\n`,
    '8:18 targets[0].concurrency: expected a positive integer; found "8"',
  ],
  [
    `${WITH_TARGET}    events: [group]\n`,
    '8:14 targets[0].events[0]: expected an event glob like group.*, group.message.* or *, or a QQ event name ' +
      'like GROUP_ADD_ROBOT or GROUP_*; found "group"; did you mean group.*?',
  ],
  [
    `${WITH_TARGET}    events: [Group_Add_Robot]\n`,
    '8:14 targets[0].events[0]: expected an event glob like group.*, group.message.* or *, or a QQ event name ' +
      'like GROUP_ADD_ROBOT or GROUP_*; found "Group_Add_Robot"; did you mean GROUP_ADD_ROBOT?',
  ],
  [
    `${WITH_TARGET}    events: [Group.*]\n`,
    '8:14 targets[0].events[0]: expected an event glob like group.*, group.message.* or *, or a QQ event name ' +
      'like GROUP_ADD_ROBOT or GROUP_*; found "Group.*"; did you mean group.*?',
  ],
  [
    `${WITH_TARGET}    events: []\n`,
    '8:13 targets[0].events: expected at least one event pattern; ["*"] (the default) delivers every event; ' +
      'found an empty list',
  ],
  [
    `${WITH_TARGET}    groups: [""]\n`,
    '8:14 targets[0].groups[0]: expected a group_openid (a non-empty string); found an empty string',
  ],
  [
    `${WITH_TARGET}    headers: { Content-Type: text/plain }\n`,
    '8:16 targets[0].headers.Content-Type: header Content-Type is set by the bridge on every delivery and cannot ' +
      'be overridden; remove it',
  ],
  [
    `${WITH_TARGET}    headers: { X-QQWB-Attempt: "1" }\n`,
    '8:16 targets[0].headers.X-QQWB-Attempt: header X-QQWB-Attempt is set by the bridge on every delivery and ' +
      'cannot be overridden; remove it',
  ],
  [
    `${WITH_TARGET}    headers: { Host: example.com }\n`,
    '8:16 targets[0].headers.Host: header Host is managed by the HTTP client and cannot be set; remove it',
  ],
  [
    `${WITH_TARGET}    headers: { "X Env": prod }\n`,
    `8:16 targets[0].headers["X Env"]: expected a header name made of letters, digits and !#$%&'*+-.^_\`|~; found "X Env"`,
  ],
  [
    `${WITH_TARGET}    headers: { X-Env: "prod\\r\\nX-Evil: 1" }\n`,
    '8:23 targets[0].headers.X-Env: header values must not contain CR, LF or NUL characters (they would split the request)',
  ],
  [
    `${WITH_TARGET}    headers: { X-Env: prod, x-env: test }\n`,
    '8:29 targets[0].headers.x-env: header x-env repeats X-Env (header names ignore case); keep one',
  ],
  [
    `${WITH_TARGET}    headers: { X-Env: [prod] }\n`,
    '8:23 targets[0].headers.X-Env: expected a header value (a string, number or boolean); found a list',
  ],
  [
    `${WITH_TARGET}    retry: { base: 5s, max: 1s }\n`,
    '8:29 targets[0].retry.max: retry.max (1s) is shorter than retry.base (5s); expected max ≥ base',
  ],
  [
    `${WITH_TARGET}    retry: { attempts: 0 }\n`,
    '8:24 targets[0].retry.attempts: expected a positive integer; found 0',
  ],
  [
    `${WITH_TARGET}    retry: 3\n`,
    '8:12 targets[0].retry: expected a mapping with attempts, base, max; found 3',
  ],
  [
    `${WITH_TARGET}    rate_limit: { max: 5 }\n`,
    '8:5 targets[0].rate_limit.per: expected a duration like 500ms, 10s, 5m, 1h or 7d; found nothing (the key is ' +
      'missing)',
  ],
  [
    `${WITH_TARGET}    include_raw: yes\n`,
    '8:18 targets[0].include_raw: expected true or false; found "yes"',
  ],
  [`${WITH_TARGET}    allow_private: 1\n`, '8:20 targets[0].allow_private: expected true or false; found 1'],
  // a target's identity (lines 5–7)
  [
    withTarget('Backend', 'https://b.example.com', WHSEC),
    '5:9 targets[0].id: expected a target id of lowercase letters, digits and - (at most 64 characters), like ' +
      'backend; found "Backend"',
  ],
  [
    withTarget('x'.repeat(65), 'https://b.example.com', WHSEC),
    `5:9 targets[0].id: expected a target id of lowercase letters, digits and - (at most 64 characters), like ` +
      `backend; found "${'x'.repeat(59)}…"`,
  ],
  [
    withTarget('backend', 'ftp://b.example.com', WHSEC),
    '6:10 targets[0].url: expected an http(s) URL like https://example.com/qq/events; found "ftp://b.example.com"',
  ],
  [
    `${MINIMAL}targets:\n  - id: backend\n    secret: ${WHSEC}\n`,
    '5:5 targets[0].url: expected an http(s) URL like https://example.com/qq/events; found nothing (the key is missing)',
  ],
  [
    withTarget('backend', 'https://b.example.com', '""'),
    `7:13 targets[0].secret: the webhook secret is empty; ${SECRET_HOWTO}`,
  ],
  [
    withTarget('backend', 'https://b.example.com', '[]'),
    `7:13 targets[0].secret: expected at least one secret; ${SECRET_HOWTO}; found an empty list`,
  ],
  [
    withTarget('backend', 'https://b.example.com', `[${WHSEC}, ""]`),
    `7:54 targets[0].secret[1]: the webhook secret is empty; ${SECRET_HOWTO}`,
  ],
  [
    withTarget('backend', 'https://b.example.com', 'whsec_not*base64'),
    `7:13 targets[0].secret: a whsec_ secret must continue with standard, padded base64 of at least 1 byte; ${SECRET_HOWTO}`,
  ],
  [
    withTarget('backend', 'https://b.example.com', 'whsec_'),
    `7:13 targets[0].secret: a whsec_ secret must continue with standard, padded base64 of at least 1 byte; ${SECRET_HOWTO}`,
  ],
  [
    withTarget('backend', 'https://b.example.com', '{ value: x }'),
    `7:13 targets[0].secret: expected a webhook secret or a list of secrets (while rotating); ${SECRET_HOWTO}; found a mapping`,
  ],
  [
    `${WITH_TARGET}  - id: backend\n    url: https://other.example.com\n    secret: ${WHSEC}\n`,
    '8:9 targets[1].id: duplicate target id "backend", also used by targets[0]; ids name the delivery queues and ' +
      'must be unique',
  ],
  [
    `${MINIMAL}targets:\n  - backend\n`,
    '5:5 targets[0]: expected a mapping with id, url, secret, events, groups, headers, timeout, concurrency, ' +
      'rate_limit, retry, include_raw, allow_private; found "backend"',
  ],
  // required qq settings
  [
    `qq:\n  app_id: ""\n  client_secret: x\n`,
    '2:11 qq.app_id: expected the bot AppID; found an empty string',
  ],
  [
    `qq:\n  app_id: true\n  client_secret: x\n`,
    '2:11 qq.app_id: expected the bot AppID (a string or number from the QQ bot console); found true',
  ],
  [
    `qq:\n  app_id: 1\n`,
    '1:1 qq.client_secret: expected the bot AppSecret (a non-empty string); found nothing (the key is missing)',
  ],
  [
    `redis: {}\n`,
    '1:1 qq: expected a mapping with app_id, client_secret, token_url, api_base, intents, shards, mode, webhook; ' +
      'found nothing (the key is missing)',
  ],
  [
    `- qq\n`,
    '1:1 : expected a mapping of sections: qq, redis, server, journal, gateway, delivery, outbound, log, targets; found a list',
  ],
];

describe('each invalid setting is reported with its line, path, expectation and the value found', () => {
  it.each(INVALID.map(([text, expected]) => [expected, text]))('%s', (expected, text) => {
    expect(shown(issuesOf(text))).toEqual([expected]);
  });
});

describe('unknown keys', () => {
  it.each([
    [
      `${MINIMAL}  clientSecret: x\n`,
      '4:3 qq.clientSecret: unknown key "clientSecret"; did you mean client_secret?',
    ],
    [`${MINIMAL}target: []\n`, '4:1 target: unknown key "target"; did you mean targets?'],
    [
      `${MINIMAL}  webhook: { max_skwe: 5m }\n`,
      '4:14 qq.webhook.max_skwe: unknown key "max_skwe"; did you mean max_skew?',
    ],
    [
      `${MINIMAL}server: { admin_tokn: x }\n`,
      '4:11 server.admin_tokn: unknown key "admin_tokn"; did you mean admin_token?',
    ],
    [`${WITH_TARGET}    urls: x\n`, '8:5 targets[0].urls: unknown key "urls"; did you mean url?'],
    [
      `${MINIMAL}  shards: { total: 1, idz: [0] }\n`,
      '4:23 qq.shards.idz: unknown key "idz"; did you mean ids?',
    ],
    [
      `${WITH_TARGET}    priority: 1\n`,
      '8:5 targets[0].priority: unknown key "priority"; expected one of: id, url, secret, events, groups, headers, ' +
        'timeout, concurrency, rate_limit, retry, include_raw, allow_private',
    ],
  ])('%#: reports %j at the key, with a suggestion', (text, expected) => {
    expect(shown(issuesOf(text)).filter((line) => line.includes('unknown key'))).toEqual([expected]);
  });

  it('does not let a misspelt section silently drop the targets', () => {
    const issues = issuesOf(`${MINIMAL}targest:\n  - id: backend\n`);
    expect(shown(issues)).toEqual(['4:1 targest: unknown key "targest"; did you mean targets?']);
  });
});

describe('reporting', () => {
  it('reports every issue of the file at once, in file order', () => {
    const text = [
      'qq:',
      '  app_id: "${QQ_APP_ID}"',
      '  client_secret: s',
      '  intents: [GROUP_MEMBERS, NOPE]',
      'server: { listen: "localhost" }',
      'log: { levle: info }',
      'targets:',
      '  - id: a',
      '    url: https://a.example.com',
      `    secret: ${WHSEC}`,
      '    timeout: 10 seconds',
      '  - id: a',
      '    url: https://b.example.com',
      '    secret: ""',
      '',
    ].join('\n');
    expect(shown(issuesOf(text)).map((line) => line.slice(0, line.indexOf(':', line.indexOf(' '))))).toEqual([
      '2:11 qq.app_id',
      '4:28 qq.intents[1]',
      '5:19 server.listen',
      '6:8 log.levle',
      '11:14 targets[0].timeout',
      '12:9 targets[1].id',
      '14:13 targets[1].secret',
    ]);
  });

  it('formats one issue per line as file:line:column path: message', () => {
    let error: unknown;
    try {
      parseConfig(`${WITH_TARGET}    timeout: 10 seconds\n    concurrency: 0\n`, FILE, {});
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(isBridgeError(error, 'BRIDGE_ERR_CONFIG')).toBe(true);
    expect(formatConfigError(error as ConfigError)).toBe(
      [
        'config/bridge.yaml:8:14 targets[0].timeout: "10 seconds" is not a duration; write a number and one of ms, ' +
          's, m, h, d, like 500ms, 10s, 5m, 1h or 7d',
        'config/bridge.yaml:9:18 targets[0].concurrency: expected a positive integer; found 0',
      ].join('\n'),
    );
    expect((error as ConfigError).message).toBe(formatConfigError(error as ConfigError));
    expect(Object.isFrozen((error as ConfigError).issues)).toBe(true);
  });

  it.each([
    ['an unclosed flow list', `qq:\n  intents: [GROUP_MEMBERS\nredis: {}\n`, /^3:1 : YAML syntax: /],
    ['a duplicate key', `qq:\n  app_id: 1\n  app_id: 2\n`, /^3:3 : YAML syntax: Map keys must be unique/],
    ['two documents', `qq: {}\n---\nredis: {}\n`, /^2:1 : YAML syntax: Source contains multiple documents/],
    ['a tab indent', `qq:\n\tapp_id: 1\n`, /^2:1 : YAML syntax: /],
  ])('reports YAML syntax errors located, like schema issues: %s', (_name, text, expected) => {
    const lines = shown(issuesOf(text));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines[0]).toMatch(expected);
    for (const line of lines) expect(line).not.toContain('\n');
  });

  it('reports an empty file with a pointer to the example', () => {
    expect(shown(issuesOf('# nothing yet\n'))).toEqual([
      '1:1 : the file is empty; expected at least a qq: section with app_id and client_secret (start from ' +
        'config/bridge.example.yaml)',
    ]);
  });

  it('turns a YAML alias bomb into a ConfigError rather than a crash', () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let level = 1; level < 8; level++) {
      const previous = String.fromCharCode(96 + level);
      const next = String.fromCharCode(97 + level);
      lines.push(`${next}: &${next} [${Array(10).fill(`*${previous}`).join(', ')}]`);
    }
    const issues = issuesOf(`${lines.join('\n')}\n`);
    expect(issues).toHaveLength(1);
    expect(issues[0]?.message).toMatch(/^could not read the configuration: /);
  });
});
