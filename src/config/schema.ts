/**
 * The configuration file's schema, as written in YAML (snake_case keys, human durations). It is the single source
 * for validation at load time and for the JSON Schema editors use (`npm run schema`); load.ts turns its output
 * into the camelCase {@link BridgeConfig}.
 *
 * Conventions the error reporting relies on (see located-issues.ts):
 * - a message starting with `expected` gets `; found <value>` appended, or has the value put where `{found}` is;
 *   any other message is a complete sentence;
 * - a custom issue with `params: { at: 'key' }` points at the mapping key rather than its value.
 *
 * @packageDocumentation
 */
import { z } from 'zod';
import { INTENTS, isIntentName, type IntentName } from '../qq/intents.js';
import { isReservedServerPath, RESERVED_SERVER_PATHS_TEXT } from '../server/reserved-paths.js';
import { DURATION_EXAMPLES, DURATION_PATTERN, parseDuration, parseDurationMs } from '../util/duration.js';
import { parseRequestTarget } from '../util/request-target.js';
import { HOST_PORT_MAX_LENGTH, parseHostPort } from './host-port.js';
import { parseListen } from './listen.js';
import {
  AUTO_REPLICA_ID,
  REPLICA_ID_MAX_LENGTH,
  REPLICA_ID_PATTERN,
  replicaIdProblem,
} from './replica-id.js';
import { alternativeForm } from './schema-keys.js';
import { didYouMean } from './suggest.js';
import { parseKeyBase, PREFIX_EXPECTED } from '../redis/keys.js';

// Cross-field checks run even when a sibling is invalid, so one run reports every issue (zod skips them by
// default). They run only once the value has the right shape, and their callbacks take `unknown` members and
// check every type they rely on.
const WHEN_LIST = { when: (payload: z.core.ParsePayload) => Array.isArray(payload.value) };
const WHEN_MAPPING = {
  when: (payload: z.core.ParsePayload) =>
    typeof payload.value === 'object' && payload.value !== null && !Array.isArray(payload.value),
};

type ErrorInput = { readonly input?: unknown };

const DURATION_EXPECTED = `expected a duration like ${DURATION_EXAMPLES}`;

/** What is wrong with a value given for a duration, in the `{found}` convention of the module comment. */
function durationError(issue: ErrorInput): string {
  const { input } = issue;
  if (typeof input !== 'string' && typeof input !== 'number') return DURATION_EXPECTED;
  const result = parseDuration(String(input));
  return 'problem' in result ? `{found} ${result.problem}` : DURATION_EXPECTED;
}

/** A duration as util/duration.ts reads it, the same grammar as the command line's. */
function duration(options: { allowZero: boolean }) {
  return z
    .string({ error: durationError })
    .regex(DURATION_PATTERN, { error: durationError })
    .refine((text) => !DURATION_PATTERN.test(text) || parseDurationMs(text) !== undefined, {
      error: durationError,
    })
    .refine((text) => options.allowZero || (parseDurationMs(text) ?? 1) > 0, {
      error: 'expected a duration greater than zero, like 500ms or 10s',
    });
}

/** Reads a duration the schema has accepted. */
export function durationMs(text: string): number {
  const ms = parseDurationMs(text);
  if (ms === undefined) throw new TypeError(`not a validated duration: ${JSON.stringify(text)}`);
  return ms;
}

/** A `gateway.replica_id` refused, saying which of its rules it breaks. */
function replicaIdError(issue: ErrorInput): string {
  const problem = typeof issue.input === 'string' ? replicaIdProblem(issue.input) : undefined;
  return (
    "expected a replica id unique per gateway process, without ':', '/' or whitespace, like gw-1; found {found}" +
    (problem ? `, which ${problem}` : '')
  );
}

function text(expected: string) {
  return z.string({ error: expected }).min(1, { error: expected });
}

function positiveInt(expected = 'expected a positive integer') {
  return z.int({ error: expected }).min(1, { error: expected });
}

function flag() {
  return z.boolean({ error: 'expected true or false' });
}

function isUrlWithScheme(value: string, schemes: RegExp): boolean {
  if (!URL.canParse(value)) return false;
  const url = new URL(value);
  return schemes.test(url.protocol) && url.hostname !== '';
}

function httpUrl() {
  const error = 'expected an http(s) URL like https://example.com/qq/events';
  return z
    .string({ error })
    .regex(/^https?:\/\/\S+$/i, { error })
    .refine((value) => isUrlWithScheme(value, /^https?:$/), { error });
}

function uniqueItems(label: string) {
  return (items: readonly unknown[], ctx: z.RefinementCtx): void => {
    const seen = new Set<unknown>();
    items.forEach((item, index) => {
      if (seen.has(item))
        ctx.addIssue({ code: 'custom', path: [index], message: `duplicate ${label} ${String(item)}` });
      seen.add(item);
    });
  };
}

function section<Shape extends z.core.$ZodLooseShape>(shape: Shape) {
  return z.strictObject(shape, { error: `expected a mapping with ${Object.keys(shape).join(', ')}` });
}

/** Retries: exponential backoff with full jitter, then the dead-letter queue; `max` must not be below `base`. */
function retrySection(defaults: { attempts: number; base: string; max: string }) {
  return section({
    attempts: positiveInt()
      .default(defaults.attempts)
      .describe(`Attempts in total, the first included. Default ${defaults.attempts}.`),
    base: duration({ allowZero: false })
      .default(defaults.base)
      .describe(`Backoff before the first retry; doubles each time. Default ${defaults.base}.`),
    max: duration({ allowZero: false })
      .default(defaults.max)
      .describe(`Longest backoff, and the most a Retry-After header is honoured. Default ${defaults.max}.`),
  })
    .superRefine((retry: { base?: unknown; max?: unknown }, ctx) => {
      const { base, max } = retry;
      if (typeof base !== 'string' || typeof max !== 'string') return;
      const baseMs = parseDurationMs(base);
      const maxMs = parseDurationMs(max);
      if (baseMs !== undefined && maxMs !== undefined && maxMs < baseMs) {
        ctx.addIssue({
          code: 'custom',
          path: ['max'],
          message: `retry.max (${max}) is shorter than retry.base (${base}); expected max ≥ base`,
        });
      }
    }, WHEN_MAPPING)
    .prefault({})
    .describe(
      'Retries: exponential backoff with full jitter, then the dead-letter queue. ' +
        `Default { attempts: ${defaults.attempts}, base: ${defaults.base}, max: ${defaults.max} }.`,
    );
}

/** `{ max, per }`: at most max per window. */
function rateLimitSection(what: string) {
  return section({
    max: positiveInt().describe(`${what} allowed per window. Required in rate_limit.`),
    per: duration({ allowZero: false }).describe('The window, e.g. 1s. Required in rate_limit.'),
  });
}

// ---------------------------------------------------------------- qq

const INTENT_NAMES = Object.keys(INTENTS) as [IntentName, ...IntentName[]];
/** Intents are OR'd into a 32-bit signed mask; anything above bit 30 cannot be sent. */
const MAX_INTENT_MASK = 2 ** 31 - 1;
const INTENT_NUMBER_EXPECTED = `expected an intent name like GROUP_AND_C2C_EVENT or an integer bit mask 0..${MAX_INTENT_MASK}`;

/** The OR of a validated intents list. */
export function intentMask(entries: readonly (IntentName | number)[]): number {
  return entries.reduce<number>(
    (mask, entry) => mask | (typeof entry === 'number' ? entry : INTENTS[entry]),
    0,
  );
}

const intent = z.union(
  [z.enum(INTENT_NAMES), z.int({ error: INTENT_NUMBER_EXPECTED }).min(0).max(MAX_INTENT_MASK)],
  {
    error: (issue: ErrorInput) =>
      typeof issue.input === 'string'
        ? `unknown intent ${JSON.stringify(issue.input)}${didYouMean(issue.input, INTENT_NAMES)}; valid names: ` +
          INTENT_NAMES.join(', ')
        : INTENT_NUMBER_EXPECTED,
  },
);

/** A sanity cap: the shard count is a number of WebSocket connections, and `N` expands to a list of N ids. */
const MAX_SHARDS = 4096;
const SHARDS_EXPECTED = `expected auto, a shard count N (1..${MAX_SHARDS}), or { total: N, ids: [0, 1, …] }`;

const shardsObject = z
  .strictObject(
    {
      total: positiveInt(`expected the total shard count (1..${MAX_SHARDS})`).max(MAX_SHARDS),
      ids: z
        .array(
          z
            .int({ error: 'expected a shard id (an integer from 0)' })
            .min(0, { error: 'expected a shard id (an integer from 0)' }),
          {
            error: 'expected a list of shard ids, like [0, 1]',
          },
        )
        .min(1, { error: 'expected at least one shard id, like [0]' })
        .superRefine(uniqueItems('shard id'), WHEN_LIST),
    },
    { error: SHARDS_EXPECTED },
  )
  .superRefine((shards: { total?: unknown; ids?: unknown }, ctx) => {
    const { total, ids } = shards;
    if (typeof total !== 'number' || !Array.isArray(ids)) return;
    ids.forEach((id: unknown, index) => {
      if (typeof id === 'number' && id >= total) {
        ctx.addIssue({
          code: 'custom',
          path: ['ids', index],
          message: `shard id ${id} is out of range; expected ids from 0 to ${total - 1} (below total: ${total})`,
        });
      }
    });
  }, WHEN_MAPPING);

/** Where the QQ events come from (docs/qq-protocol.md §0.2, §6). */
const QQ_MODES = ['websocket', 'webhook'] as const;

const WEBHOOK_PATH_SHAPE = /^\/[^\s?#]*$/;
const WEBHOOK_PATH_EXPECTED = 'expected a URL path like /qq/callback (starting with /, no spaces, ? or #)';

/**
 * A path as the HTTP server routes it (undefined when the server could not parse it). The configured path must
 * already be in this form, or the route could never match what the server compares it with.
 */
function routedPath(path: string): string | undefined {
  return parseRequestTarget(path)?.pathname;
}

function unroutedPathMessage(path: string): string {
  const routed = routedPath(path);
  if (routed === undefined) {
    return 'expected a path the HTTP server can parse, like /qq/callback (a leading // starts a host name); found {found}';
  }
  return (
    'expected a path in normalized form (no . or .. segments, non-ASCII percent-encoded), like ' +
    `${routed}; found {found}`
  );
}

const webhook = section({
  path: z
    .string({ error: WEBHOOK_PATH_EXPECTED })
    .regex(WEBHOOK_PATH_SHAPE, { error: WEBHOOK_PATH_EXPECTED })
    .refine((path) => !WEBHOOK_PATH_SHAPE.test(path) || routedPath(path) === path, {
      error: (issue: ErrorInput) => unroutedPathMessage(String(issue.input)),
    })
    .refine((path) => !isReservedServerPath(path), {
      error: (issue: ErrorInput) =>
        `the path ${String(issue.input)} is one of the server's own routes (${RESERVED_SERVER_PATHS_TEXT}); ` +
        'choose another, like /qq/callback',
    })
    .default('/qq/callback')
    .describe(
      'Path of the QQ callback route on the bridge HTTP server (server.listen); put it behind an HTTPS reverse ' +
        'proxy. Default /qq/callback.',
    ),
  max_body_bytes: positiveInt('expected a size in bytes (a positive integer)')
    .default(1_048_576)
    .describe(
      'Largest callback body accepted, in bytes; bigger ones are answered 413. Default 1048576 (1 MiB).',
    ),
  max_skew: duration({ allowZero: false })
    .default('5m')
    .describe(
      'Callbacks whose X-Signature-Timestamp is further than this from the local clock are refused (401), which ' +
        'limits replays of captured requests. Default 5m.',
    ),
});

const qq = section({
  app_id: z
    .union([text('expected the bot AppID'), positiveInt('expected the bot AppID')], {
      error: 'expected the bot AppID (a string or number from the QQ bot console)',
    })
    .describe(
      'The bot AppID from the QQ bot console (q.qq.com). Required; a YAML number is read as a string.',
    ),
  client_secret: text('expected the bot AppSecret (a non-empty string)').describe(
    'The bot AppSecret, used to obtain access tokens. Required; keep it out of the file: "${QQ_CLIENT_SECRET}".',
  ),
  token_url: httpUrl()
    .default('https://bots.qq.com/app/getAppAccessToken')
    .describe('Access token endpoint. Default https://bots.qq.com/app/getAppAccessToken.'),
  api_base: httpUrl()
    .default('https://api.sgroup.qq.com')
    .describe(
      'OpenAPI base URL (for /gateway/bot). Default https://api.sgroup.qq.com; also https://api.bot.qq.com, ' +
        'sandbox https://sandbox.api.sgroup.qq.com.',
    ),
  intents: z
    .array(intent, { error: 'expected a list of intents, like [GROUP_AND_C2C_EVENT]' })
    .min(1, { error: 'expected at least one intent, like [GROUP_AND_C2C_EVENT]' })
    .superRefine((entries: readonly unknown[], ctx) => {
      const valid = entries.filter(
        (entry) => typeof entry === 'number' || (typeof entry === 'string' && isIntentName(entry)),
      );
      if (entries.length > 0 && valid.length === entries.length && intentMask(valid) === 0) {
        ctx.addIssue({
          code: 'custom',
          message: 'the intents add up to 0, which subscribes to nothing; name at least one intent',
        });
      }
    }, WHEN_LIST)
    .default(['GROUP_AND_C2C_EVENT'])
    .describe(
      "Gateway intents: names (GROUP_AND_C2C_EVENT, GROUP_MEMBERS, …) or integer bit masks, OR'd together. " +
        'Default [GROUP_AND_C2C_EVENT].',
    ),
  shards: z
    .union(
      [
        z.literal('auto', { error: SHARDS_EXPECTED }),
        positiveInt(SHARDS_EXPECTED).max(MAX_SHARDS),
        shardsObject,
      ],
      {
        error: SHARDS_EXPECTED,
      },
    )
    .default('auto')
    .describe(
      'Which gateway shards this deployment runs: auto (the count /gateway/bot recommends, all ids), N (ids ' +
        '0..N-1), or { total: N, ids: [...] } to split shards across deployments. Default auto.',
    ),
  mode: z
    .enum(QQ_MODES, {
      error: (issue: ErrorInput) =>
        `expected websocket or webhook; found {found}` +
        (typeof issue.input === 'string' ? didYouMean(issue.input, QQ_MODES) : ''),
    })
    .default('websocket')
    .describe(
      'How QQ pushes events: websocket (the gateway session; QQ calls it unsupported) or webhook (QQ POSTs signed ' +
        'callbacks to qq.webhook.path; no WebSocket is opened, intents and shards are not used). Default websocket.',
    ),
  webhook: webhook
    .prefault({})
    .describe(
      'The HTTP callback route, used when mode is webhook. Default { path: /qq/callback, max_body_bytes: 1048576, max_skew: 5m }.',
    ),
});

// ---------------------------------------------------------------- redis, server, journal, gateway, delivery, log

export const REDIS_URL_DEFAULT = 'redis://127.0.0.1:6379';

const HOST_PORT_EXPECTED =
  'expected a Redis node as host:port, like 10.0.0.5:6379 or [::1]:6379 (port 1–65535)';

function hostPort() {
  return z
    .string({ error: HOST_PORT_EXPECTED })
    .max(HOST_PORT_MAX_LENGTH, {
      error: `${HOST_PORT_EXPECTED}, at most ${HOST_PORT_MAX_LENGTH} characters`,
      abort: true,
    })
    .refine((value) => parseHostPort(value) !== undefined, { error: HOST_PORT_EXPECTED });
}

function redisNodes(what: string) {
  const expected = `expected a list of ${what} as host:port, like ["10.0.0.5:6379", "10.0.0.6:6379"]`;
  return z
    .array(hostPort(), { error: expected })
    .min(1, { error: expected })
    .max(64, { error: `${expected}, at most 64 (a few seed nodes are enough)` })
    .superRefine(uniqueItems('node'), WHEN_LIST);
}

function optionalSecret(what: string) {
  return z
    .string({ error: `expected the ${what} (a string; use \${ENV_VAR} to keep it out of the file)` })
    .min(1, { error: `the ${what} is empty; leave the key out when there is none` })
    .optional();
}

const redisTls = z
  .union(
    [
      flag(),
      section({
        ca_file: text('expected the path of a PEM file with the CA certificates to trust')
          .optional()
          .describe(
            'PEM file of the CA certificates to trust instead of the system ones. Default: the system CAs.',
          ),
        servername: text('expected the TLS server name (SNI), like redis.example.com')
          .optional()
          .describe('Server name sent and verified (SNI). Default: the node host.'),
        reject_unauthorized: flag()
          .default(true)
          .describe(
            'Refuse a certificate that does not verify. Only set false for a test setup. Default true.',
          ),
      }),
    ],
    { error: 'expected true, false, or a mapping with ca_file, servername, reject_unauthorized' },
  )
  .optional()
  .describe(
    'TLS to the nodes: true, or a mapping with ca_file, servername, reject_unauthorized. Default off.',
  );

const redisCluster = section({
  nodes: redisNodes('cluster seed nodes').describe(
    'Seed nodes of the Redis Cluster (host:port); the client discovers the rest. Required.',
  ),
  username: optionalSecret('Redis ACL user name').describe(
    'ACL user of every node. Default: none (default user).',
  ),
  password: optionalSecret('Redis password').describe('Password of every node. Default: none.'),
  tls: redisTls,
  nat_map: z
    .record(hostPort(), hostPort(), {
      error:
        'expected a mapping of "internal:port": "external:port", like { "172.18.0.2:6379": "127.0.0.1:7000" }',
    })
    .optional()
    .describe(
      'Address translation for a cluster behind NAT or Docker: the address a node announces → the one to dial. ' +
        'Default: none.',
    ),
});

const redisSentinel = section({
  name: text('expected the master name the Sentinels monitor, like mymaster').describe(
    'The master name the Sentinels monitor (sentinel monitor <name> …). Required.',
  ),
  nodes: redisNodes('Sentinels').describe(
    'The Sentinels (host:port); the client asks them for the master. Required.',
  ),
  username: optionalSecret('Redis ACL user name').describe('ACL user of the master. Default: none.'),
  password: optionalSecret('Redis password').describe(
    'Password of the master and replicas (data). Default: none.',
  ),
  sentinel_username: optionalSecret('Sentinel ACL user name').describe(
    'ACL user of the Sentinels themselves. Default: none.',
  ),
  sentinel_password: optionalSecret('Sentinel password').describe(
    'Password of the Sentinels themselves (their requirepass), separate from password. Default: none.',
  ),
  tls: redisTls,
});

/** Only one way to reach Redis: a second one is refused at its own key, saying which to keep. */
function oneRedisTopology(value: unknown, ctx: z.RefinementCtx): void {
  const given = ['url', 'cluster', 'sentinel'].filter(
    (key) => (value as Record<string, unknown>)[key] !== undefined,
  );
  for (const key of given.slice(1)) {
    ctx.addIssue({
      code: 'custom',
      path: [key],
      params: { at: 'key' },
      message:
        `redis.${key} is set together with redis.${given[0]}; Redis is reached one way only: keep url (one ` +
        'node), cluster (Redis Cluster) or sentinel (a Sentinel-managed master), and remove the others',
    });
  }
}

/** More would be a typo: no deployment runs a master with this many synchronous replicas. */
export const MAX_MIN_REPLICAS = 16;
const MIN_REPLICAS_EXPECTED = `expected a replica count, an integer from 0 to ${MAX_MIN_REPLICAS}`;

/**
 * Bounds of `redis.replica_wait_timeout`: never 0 (WAIT 0 blocks forever), and short enough that write + WAIT stay
 * within the durable sink's 2 s enqueue timeout, past which the event is journaled anyway.
 */
const REPLICA_WAIT_TIMEOUT_MIN = '10ms';
const REPLICA_WAIT_TIMEOUT_MAX = '1s';

function replicaWaitTimeout() {
  const expected = `expected a duration from ${REPLICA_WAIT_TIMEOUT_MIN} to ${REPLICA_WAIT_TIMEOUT_MAX}, like 500ms`;
  const min = parseDurationMs(REPLICA_WAIT_TIMEOUT_MIN) ?? 0;
  const max = parseDurationMs(REPLICA_WAIT_TIMEOUT_MAX) ?? 0;
  return duration({ allowZero: false }).refine(
    (text) => {
      const ms = parseDurationMs(text);
      return ms === undefined || (ms >= min && ms <= max);
    },
    { error: expected },
  );
}

const redis = section({
  url: z
    .string({ error: 'expected a Redis URL like redis://127.0.0.1:6379' })
    .refine((value) => isUrlWithScheme(value, /^rediss?:$/), {
      error: 'expected a Redis URL like redis://127.0.0.1:6379 (rediss:// for TLS)',
    })
    .optional()
    .describe(
      'Redis connection URL of one node; rediss:// for TLS, credentials as redis://:password@host:port. ' +
        `Exclusive with cluster and sentinel. Default ${REDIS_URL_DEFAULT} when neither is set.`,
    ),
  cluster: alternativeForm(
    redisCluster
      .optional()
      .describe('A Redis Cluster: seed nodes, credentials, TLS, NAT map. Exclusive with url and sentinel.'),
  ),
  sentinel: alternativeForm(
    redisSentinel
      .optional()
      .describe('A Sentinel-managed master: name, Sentinels, credentials. Exclusive with url and cluster.'),
  ),
  prefix: z
    .string({ error: PREFIX_EXPECTED })
    .refine((prefix) => parseKeyBase(prefix) !== undefined, { error: PREFIX_EXPECTED })
    .default('{qqwb}')
    .describe(
      'Names every Redis key and BullMQ queue: {name} (a bare name is read as {name}). Each queue and gateway ' +
        'shard gets a hash tag of its own under it ({name:t:<target>}, …), so Redis Cluster spreads them. Default {qqwb}.',
    ),
  min_replicas: z
    .int({ error: MIN_REPLICAS_EXPECTED })
    .min(0, { error: MIN_REPLICAS_EXPECTED })
    .max(MAX_MIN_REPLICAS, { error: MIN_REPLICAS_EXPECTED })
    .optional()
    .describe(
      'Replicas that must confirm an enqueue (Redis WAIT) before it counts as durable: the gateway seq advances, ' +
        'the webhook callback is answered, the send API answers 202. Too few within replica_wait_timeout and the ' +
        'event goes to the local journal as if Redis were away. 0 sends no WAIT. Default 1 with redis.cluster or ' +
        'redis.sentinel, 0 with a plain url.',
    ),
  replica_wait_timeout: replicaWaitTimeout()
    .default('500ms')
    .describe(
      `How long one WAIT for redis.min_replicas blocks before the write counts as not durable; from ` +
        `${REPLICA_WAIT_TIMEOUT_MIN} to ${REPLICA_WAIT_TIMEOUT_MAX}. Default 500ms.`,
    ),
}).superRefine(oneRedisTopology, WHEN_MAPPING);

const LISTEN_EXPECTED = 'expected host:port like 127.0.0.1:9464, [::1]:9464 or :9464 (all interfaces)';

function listenError(issue: ErrorInput): string {
  const port = typeof issue.input === 'number' || typeof issue.input === 'string' ? String(issue.input) : '';
  return /^\d+$/.test(port) ? `${LISTEN_EXPECTED}; found {found}; did you mean :${port}?` : LISTEN_EXPECTED;
}

const server = section({
  listen: z
    .string({ error: listenError })
    .refine((value) => parseListen(value) !== undefined, { error: listenError })
    .default('127.0.0.1:9464')
    .describe(
      'Address of the health, metrics and admin HTTP server: host:port, [ipv6]:port, or :port for every IPv4 ' +
        'interface. Default 127.0.0.1:9464.',
    ),
  admin_token: z
    .string({ error: 'expected the admin token (a string; empty turns the admin routes off)' })
    .default('')
    .describe('Bearer token for /admin/*; the admin routes are off while it is empty. Default "" (off).'),
  api_tokens: z
    .array(text('expected an API token (a non-empty string)'), {
      error: 'expected a list of API tokens, like ["${QQWB_API_TOKEN}"]',
    })
    .superRefine(uniqueItems('API token'), WHEN_LIST)
    .default([])
    .describe(
      'Bearer tokens accepted by the send API (/v1/*); several while rotating. The send API is off while the ' +
        'list is empty. Separate from admin_token. Default [] (off).',
    ),
});

const journal = section({
  dir: text('expected a directory path')
    .default('./data/journal')
    .describe(
      'Directory of the local journal that holds events while Redis is unreachable; relative to the working ' +
        'directory. Default ./data/journal.',
    ),
  max_bytes: positiveInt('expected a size in bytes (a positive integer)')
    .default(268_435_456)
    .describe('Largest size of the journal, in bytes. Default 268435456 (256 MiB).'),
});

/**
 * Bounds of `gateway.rotate_every` (0 turns rotation off); the message says why. Below an hour `config check` warns
 * about the session starts it spends; the session-start reserve (src/gateway/start-budget.ts) stops rotations
 * before they eat into the starts reconnects need, whatever the period.
 */
const ROTATE_EVERY_MIN_MS = 10_000;
const ROTATE_EVERY_MAX_MS = 7 * 86_400_000;
const ROTATE_EVERY_EXPECTED =
  'expected a duration from 10s to 7d (like 24h), or 0s to turn rotation off; each rotation spends one of the ' +
  "bot's daily session starts (about 1000), so rotating more often than every 10 s would use them up within " +
  'hours, and a session is not kept longer than 7d (degraded sessions were seen after about 3 days)';

function rotateEveryError(issue: ErrorInput): string {
  const { input } = issue;
  if (typeof input === 'string' || (typeof input === 'number' && input !== 0)) {
    const result = parseDuration(String(input), 'h');
    if ('problem' in result) return `{found} ${result.problem}`;
  }
  return `${ROTATE_EVERY_EXPECTED}; found {found}`;
}

/** `gateway.rotate_every`: a duration within the bounds above, or 0 / "0s" (off). */
function rotateEvery() {
  const inBounds = (text: string): boolean => {
    const ms = parseDurationMs(text);
    return ms !== undefined && (ms === 0 || (ms >= ROTATE_EVERY_MIN_MS && ms <= ROTATE_EVERY_MAX_MS));
  };
  const text = z
    .string({ error: rotateEveryError })
    .regex(DURATION_PATTERN, { error: rotateEveryError })
    .refine(inBounds, { error: rotateEveryError });
  return z.union([z.literal(0, { error: rotateEveryError }), text], { error: rotateEveryError });
}

const gateway = section({
  max_frame_bytes: positiveInt('expected a size in bytes (a positive integer)')
    .default(1_048_576)
    .describe(
      'Largest WebSocket frame accepted, in bytes; bigger frames are logged and dropped. Default 1048576 (1 MiB).',
    ),
  lease_ttl: duration({ allowZero: false })
    .default('10s')
    .describe(
      'How long a gateway replica holds a shard lease without renewing it; another replica takes over after this. ' +
        'Default 10s.',
    ),
  replica_id: z
    .string({ error: 'expected a replica id (text), like gw-1' })
    // The same check three ways, so the JSON Schema carries the bounds too; each reports the one problem found.
    .min(1, { error: replicaIdError })
    .max(REPLICA_ID_MAX_LENGTH, { error: replicaIdError })
    .regex(REPLICA_ID_PATTERN, { error: replicaIdError })
    .default(AUTO_REPLICA_ID)
    .describe(
      'Stable identity of this gateway process: a restart with the same id takes back the shard leases of its ' +
        "crashed run at once. Unique per process; no ':', '/' or whitespace, at most 100 characters. Default " +
        'auto: <host name>-<hash of the absolute journal.dir>.',
    ),
  rotate_every: rotateEvery()
    .default('24h')
    .describe(
      'A gateway session this old (since its READY) is replaced: a new session is identified beside it and the ' +
        'old one closed once the new one is READY, with no gap. 10s to 7d, or 0s (off). Skipped while few QQ ' +
        'session starts are left. Default 24h.',
    ),
});

const deadLetter = section({
  max_age: duration({ allowZero: false })
    .default('7d')
    .describe(
      'Dead letters that failed longer ago than this are deleted, with their attempt log. Default 7d.',
    ),
  max_count: positiveInt('expected a number of dead letters (a positive integer)')
    .default(10_000)
    .describe(
      'Most dead letters kept per target, and in the outbound queue; beyond it the oldest are deleted. With a ' +
        "dead letter's size it bounds the Redis memory a failing target can take (README, Redis sizing). " +
        'Default 10000.',
    ),
});

const delivery = section({
  dedupe_window: duration({ allowZero: false })
    .default('24h')
    .describe('Within this window the same event is delivered to a target once. Default 24h.'),
  shutdown_grace: duration({ allowZero: true })
    .default('10s')
    .describe(
      'How long SIGTERM waits for in-flight deliveries before exiting; 0s does not wait. Default 10s.',
    ),
  stall_timeout: duration({ allowZero: false })
    .default('30s')
    .describe(
      'A delivery whose worker stops renewing its lock for this long (the process died) is handed to another ' +
        'worker. Longer than any target timeout. Default 30s.',
    ),
  dead_letter: deadLetter
    .prefault({})
    .describe(
      "Retention of every target's dead-letter queue and of the outbound one (replies and sends QQ refused), " +
        'applied to each queue separately by the worker role. Default { max_age: 7d, max_count: 10000 }.',
    ),
});

const outbound = section({
  concurrency: positiveInt()
    .default(8)
    .describe('Messages sent to QQ at once, per worker process. Default 8.'),
  timeout: duration({ allowZero: false })
    .default('10s')
    .describe('Time limit of one call to QQ (QQ recommends at least 5s). Default 10s.'),
  rate_limit: rateLimitSection('Messages')
    .prefault({ max: 20, per: '1s' })
    .describe(
      'Most messages sent to QQ per window, across all workers of the bot. QQ documents no ceiling for passive ' +
        'replies; the default is a conservative guard. Default { max: 20, per: 1s }.',
    ),
  retry: retrySection({ attempts: 10, base: '1s', max: '5m' }),
});

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;

const log = section({
  level: z
    .enum(LOG_LEVELS, {
      error: (issue: ErrorInput) =>
        `expected one of ${LOG_LEVELS.join(', ')}; found {found}` +
        (typeof issue.input === 'string' ? didYouMean(issue.input, LOG_LEVELS) : ''),
    })
    .default('info')
    .describe(`Log level: ${LOG_LEVELS.join(', ')}. Default info.`),
  format: z
    .enum(LOG_FORMATS, {
      error: (issue: ErrorInput) =>
        `expected one of ${LOG_FORMATS.join(', ')}; found {found}` +
        (typeof issue.input === 'string' ? didYouMean(issue.input, LOG_FORMATS) : ''),
    })
    .default('auto')
    .describe(
      'Log line format: json (one JSON object per line), pretty (human-readable) or auto (pretty when stdout is ' +
        'a terminal, json otherwise). Default auto.',
    ),
});

// ---------------------------------------------------------------- targets

const SECRET_HOWTO = 'generate one with: echo "whsec_$(openssl rand -base64 32)"';
/** Standard, padded base64 of at least one byte. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{4}|[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)$/;

const secretString = z
  .string({ error: `expected a webhook secret (a string); ${SECRET_HOWTO}` })
  .min(1, { error: `the webhook secret is empty; ${SECRET_HOWTO}` })
  .refine((secret) => !secret.startsWith('whsec_') || BASE64.test(secret.slice('whsec_'.length)), {
    error: `a whsec_ secret must continue with standard, padded base64 of at least 1 byte; ${SECRET_HOWTO}`,
  });

/** Header names (RFC 9110 tokens). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Set by the bridge on every delivery; a target may not replace them. */
const BRIDGE_HEADERS = new Set([
  'content-type',
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
  'user-agent',
]);
/** Framing and connection headers the HTTP client owns; setting them breaks requests. */
const CLIENT_HEADERS = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'expect',
]);

const headerName = z
  .string()
  .regex(HEADER_NAME, {
    error: "expected a header name made of letters, digits and !#$%&'*+-.^_`|~; found {found}",
  })
  .refine((name) => !BRIDGE_HEADERS.has(name.toLowerCase()) && !name.toLowerCase().startsWith('x-qqwb-'), {
    error: (issue: ErrorInput) =>
      `header ${String(issue.input)} is set by the bridge on every delivery and cannot be overridden; remove it`,
  })
  .refine((name) => !CLIENT_HEADERS.has(name.toLowerCase()), {
    error: (issue: ErrorInput) =>
      `header ${String(issue.input)} is managed by the HTTP client and cannot be set; remove it`,
  });

const HEADER_VALUE_EXPECTED = 'expected a header value (a string, number or boolean)';

const headerValue = z.union(
  [
    z.string().refine((value) => !/[\r\n\0]/.test(value), {
      error: 'header values must not contain CR, LF or NUL characters (they would split the request)',
    }),
    z.number(),
    z.boolean(),
  ],
  { error: HEADER_VALUE_EXPECTED },
);

/**
 * A glob over the envelope `type` (lowercase, with a `.` or `*`: `group.*`, `*`) or over QQ's own event name
 * (uppercase: `GROUP_ADD_ROBOT`, `GROUP_*`), as events/filter.ts matches them. A bare lowercase word (`group`) is
 * refused: it matches no type and is almost always `group.*` mistyped.
 */
const EVENT_PATTERN =
  /^(?:[A-Z0-9_*]+|[a-z0-9_]*\*[a-z0-9_*]*(?:\.[a-z0-9_*]+)*|[a-z0-9_*]+(?:\.[a-z0-9_*]+)+)$/;
const EVENT_EXPECTED =
  'expected an event glob like group.*, group.message.* or *, or a QQ event name like GROUP_ADD_ROBOT or GROUP_*';

function eventHint(input: unknown): string {
  if (typeof input !== 'string') return '';
  if (/^[a-z0-9_]+$/.test(input)) return `; did you mean ${input}.*?`;
  if (/^[A-Za-z0-9_]+$/.test(input)) return `; did you mean ${input.toUpperCase()}?`;
  if (/^[A-Za-z0-9_.*]+$/.test(input)) return `; did you mean ${input.toLowerCase()}?`;
  return '';
}

const TARGET_ID_EXPECTED =
  'expected a target id of lowercase letters, digits and - (at most 64 characters), like backend';

const target = section({
  id: z
    .string({ error: TARGET_ID_EXPECTED })
    .regex(/^[a-z0-9-]+$/, { error: TARGET_ID_EXPECTED })
    .max(64, { error: TARGET_ID_EXPECTED })
    .describe(
      'Names the target and its delivery queue: lowercase letters, digits and -, at most 64 characters, unique. Required.',
    ),
  url: httpUrl().describe('Where events are POSTed: an http(s) URL. Required.'),
  secret: z
    .union(
      [
        secretString,
        z
          .array(secretString, { error: 'expected a secret or a list of secrets' })
          .min(1, { error: `expected at least one secret; ${SECRET_HOWTO}` }),
      ],
      { error: `expected a webhook secret or a list of secrets (while rotating); ${SECRET_HOWTO}` },
    )
    .describe(
      'Signing secret (Standard Webhooks): whsec_<base64> (decoded to the key) or any other string (used as UTF-8 ' +
        'bytes). A list signs with each, for rotation. Required; generate with: echo "whsec_$(openssl rand -base64 32)".',
    ),
  events: z
    .array(
      z.string({ error: EVENT_EXPECTED }).regex(EVENT_PATTERN, {
        error: (issue: ErrorInput) => `${EVENT_EXPECTED}; found {found}${eventHint(issue.input)}`,
      }),
      { error: 'expected a list of event patterns, like ["group.*"]' },
    )
    .min(1, { error: 'expected at least one event pattern; ["*"] (the default) delivers every event' })
    .default(['*'])
    .describe(
      'Which events this target receives: globs over the envelope type (group.*, c2c.message.*, *) or QQ event ' +
        'names (GROUP_ADD_ROBOT). Default ["*"].',
    ),
  groups: z
    .array(text('expected a group_openid (a non-empty string)'), {
      error: 'expected a list of group_openid strings',
    })
    .default([])
    .describe(
      'When not empty, deliver only events of these groups (group_openid); events without a group (C2C, ' +
        'friends) are then not delivered either. Default [] (no filter).',
    ),
  headers: z
    .record(headerName, headerValue, {
      error: 'expected a mapping of header names to values, like { X-Env: prod }',
    })
    .superRefine((headers: Readonly<Record<string, unknown>>, ctx) => {
      const seen = new Map<string, string>();
      for (const name of Object.keys(headers)) {
        const first = seen.get(name.toLowerCase());
        if (first === undefined) seen.set(name.toLowerCase(), name);
        else
          ctx.addIssue({
            code: 'custom',
            path: [name],
            params: { at: 'key' },
            message: `header ${name} repeats ${first} (header names ignore case); keep one`,
          });
      }
    }, WHEN_MAPPING)
    .default({})
    .describe(
      'Extra static headers sent with every delivery. Bridge and framing headers cannot be set. Default {}.',
    ),
  timeout: duration({ allowZero: false })
    .default('10s')
    .describe('Time limit of one delivery attempt, from connect to the end of the response. Default 10s.'),
  concurrency: positiveInt()
    .default(8)
    .describe('Deliveries in flight at once for this target, per worker process. Default 8.'),
  rate_limit: rateLimitSection('Deliveries')
    .optional()
    .describe(
      'Optional cap on deliveries to this target: at most max per window, across all workers. Default: no limit.',
    ),
  retry: retrySection({ attempts: 15, base: '1s', max: '1h' }),
  include_raw: flag()
    .default(false)
    .describe('Add the original gateway frame to the envelope as raw. Default false.'),
  allow_private: flag()
    .default(false)
    .describe(
      'Allow a URL that resolves to a loopback, private, link-local or metadata address (SSRF guard). Default false.',
    ),
});

function uniqueTargetIds(targets: readonly unknown[], ctx: z.RefinementCtx): void {
  const firstIndex = new Map<string, number>();
  targets.forEach((entry: unknown, index) => {
    if (typeof entry !== 'object' || entry === null) return;
    const id: unknown = (entry as { id?: unknown }).id;
    if (typeof id !== 'string') return;
    const first = firstIndex.get(id);
    if (first === undefined) firstIndex.set(id, index);
    else
      ctx.addIssue({
        code: 'custom',
        path: [index, 'id'],
        message: `duplicate target id ${JSON.stringify(id)}, also used by targets[${first}]; ids name the delivery queues and must be unique`,
      });
  });
}

// ---------------------------------------------------------------- the file

/** The whole configuration file. Every section but `qq` is optional. */
export const configSchema = z.strictObject(
  {
    qq: qq.describe('The QQ bot: credentials, endpoints, intents, shards. Required.'),
    redis: redis.prefault({}).describe('Redis, the only shared state (queues, sessions, leases, dedupe).'),
    server: server.prefault({}).describe('The HTTP server for health, metrics and admin routes.'),
    journal: journal.prefault({}).describe('Local spill of events while Redis is unreachable.'),
    gateway: gateway.prefault({}).describe('Gateway session tuning.'),
    delivery: delivery.prefault({}).describe('Delivery tuning shared by all targets.'),
    outbound: outbound
      .prefault({})
      .describe('Replies and API sends to QQ: concurrency, timeout, rate limit, retries.'),
    log: log.prefault({}).describe('Logging.'),
    targets: z
      .array(target, { error: 'expected a list of targets, each starting with - id: …' })
      .superRefine(uniqueTargetIds, WHEN_LIST)
      .nullable()
      .default([])
      .describe('Where events are delivered. Empty or absent runs the gateway only. Default [].'),
  },
  {
    error:
      'expected a mapping of sections: qq, redis, server, journal, gateway, delivery, outbound, log, targets',
  },
);

/** The file as validated, with defaults filled in; still snake_case with human durations. */
export type ConfigDocument = z.output<typeof configSchema>;
