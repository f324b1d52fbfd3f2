import { describe, expect, it } from 'vitest';
import { formatConfigError, parseConfig, ConfigError, type BridgeConfig } from '../../src/config/index.js';
import { defaultReplicaId } from '../../src/config/replica-id.js';
import { INTENTS } from '../../src/qq/intents.js';
import { defaultMinReplicas } from '../../src/config/min-replicas.js';
import { FILE, MINIMAL, WHSEC, WITH_TARGET, issuesOf } from './helpers.js';

describe('defaults', () => {
  it('fills in every documented default around the two required settings', () => {
    expect(parseConfig(MINIMAL, FILE, {})).toEqual({
      source: FILE,
      qq: {
        appId: '102000000',
        clientSecret: 'qq-secret-value',
        tokenUrl: 'https://bots.qq.com/app/getAppAccessToken',
        apiBase: 'https://api.sgroup.qq.com',
        intents: INTENTS.GROUP_AND_C2C_EVENT,
        shards: { mode: 'auto' },
        mode: 'websocket',
        webhook: { path: '/qq/callback', maxBodyBytes: 1_048_576, maxSkewMs: 300_000 },
      },
      redis: {
        url: 'redis://127.0.0.1:6379',
        connection: { kind: 'single', url: 'redis://127.0.0.1:6379' },
        prefix: '{qqwb}',
        minReplicas: 0,
        replicaWaitTimeoutMs: 500,
      },
      server: { host: '127.0.0.1', port: 9464, adminToken: '', apiTokens: [] },
      journal: { dir: './data/journal', maxBytes: 268_435_456 },
      gateway: {
        maxFrameBytes: 1_048_576,
        leaseTtlMs: 10_000,
        replicaId: defaultReplicaId('./data/journal'),
        rotateEveryMs: 86_400_000,
      },
      delivery: {
        dedupeWindowMs: 86_400_000,
        shutdownGraceMs: 10_000,
        stallTimeoutMs: 30_000,
        deadLetter: { maxAgeMs: 604_800_000, maxCount: 10_000 },
      },
      outbound: {
        concurrency: 8,
        timeoutMs: 10_000,
        rateLimit: { max: 20, perMs: 1000 },
        retry: { attempts: 10, baseMs: 1000, maxMs: 300_000 },
      },
      log: { level: 'info', format: 'auto' },
      targets: [],
    } satisfies BridgeConfig);
  });

  it('fills in every target default around id, url and secret', () => {
    expect(parseConfig(WITH_TARGET, FILE, {}).targets).toEqual([
      {
        id: 'backend',
        url: 'https://backend.example.com/qq',
        secrets: [WHSEC],
        events: ['*'],
        groups: [],
        headers: {},
        timeoutMs: 10_000,
        concurrency: 8,
        retry: { attempts: 15, baseMs: 1_000, maxMs: 3_600_000 },
        includeRaw: false,
        allowPrivate: false,
      },
    ]);
  });

  it('fills in the retry settings left out of a partial retry mapping', () => {
    const target = parseConfig(`${WITH_TARGET}    retry: { attempts: 3 }\n`, FILE, {}).targets[0];
    expect(target?.retry).toEqual({ attempts: 3, baseMs: 1_000, maxMs: 3_600_000 });
  });

  it.each([
    ['an absent list', MINIMAL],
    ['an empty list', `${MINIMAL}targets: []\n`],
    ['a key with everything under it commented out', `${MINIMAL}targets:\n#  - id: backend\n`],
  ])('runs gateway-only with %s of targets', (_name, text) => {
    expect(parseConfig(text, FILE, {}).targets).toEqual([]);
  });
});

describe('conversion to the runtime shape', () => {
  it('reads every setting written out', () => {
    const text = [
      'qq:',
      '  app_id: 102000000',
      '  client_secret: s',
      '  token_url: http://127.0.0.1:9000/app/getAppAccessToken',
      '  api_base: https://sandbox.api.sgroup.qq.com',
      '  intents: [GROUP_AND_C2C_EVENT, GROUP_MEMBERS, 1]',
      '  shards: { total: 4, ids: [3, 1] }',
      '  mode: webhook',
      '  webhook: { path: /bots/qq/cb, max_body_bytes: 4096, max_skew: 30s }',
      'redis:',
      '  url: "rediss://:pw@redis.internal:6380/2"',
      '  prefix: "{bridge-a}"',
      '  min_replicas: 2',
      '  replica_wait_timeout: 250ms',
      'server: { listen: "[::1]:9000", admin_token: admin-secret }',
      'journal: { dir: /var/lib/qqwb, max_bytes: 1024 }',
      'gateway: { max_frame_bytes: 2048, lease_ttl: 1.5s, replica_id: gw-eu.1, rotate_every: 30m }',
      'delivery:',
      '  dedupe_window: 7d',
      '  shutdown_grace: 0s',
      '  stall_timeout: 5s',
      '  dead_letter: { max_age: 36h, max_count: 500 }',
      'log: { level: debug }',
      'targets:',
      '  - id: backend-2',
      '    url: http://10.0.0.5:8080/hook',
      `    secret: [${WHSEC}, plain-old-secret]`,
      '    events: ["group.*", "c2c.message.*", GROUP_ADD_ROBOT, "GROUP_MSG_*", "*"]',
      '    groups: [C9F7A]',
      '    headers: { X-Env: prod, X-Version: 2, X-Flag: true }',
      '    timeout: 500ms',
      '    concurrency: 1',
      '    rate_limit: { max: 50, per: 1m }',
      '    retry: { attempts: 3, base: 250ms, max: 5m }',
      '    include_raw: true',
      '    allow_private: true',
      '',
    ].join('\n');
    expect(parseConfig(text, FILE, {})).toEqual({
      source: FILE,
      qq: {
        appId: '102000000',
        clientSecret: 's',
        tokenUrl: 'http://127.0.0.1:9000/app/getAppAccessToken',
        apiBase: 'https://sandbox.api.sgroup.qq.com',
        intents: INTENTS.GROUP_AND_C2C_EVENT | INTENTS.GROUP_MEMBERS | 1,
        shards: { mode: 'fixed', total: 4, ids: [3, 1] },
        mode: 'webhook',
        webhook: { path: '/bots/qq/cb', maxBodyBytes: 4096, maxSkewMs: 30_000 },
      },
      redis: {
        url: 'rediss://:pw@redis.internal:6380/2',
        connection: { kind: 'single', url: 'rediss://:pw@redis.internal:6380/2' },
        prefix: '{bridge-a}',
        minReplicas: 2,
        replicaWaitTimeoutMs: 250,
      },
      server: { host: '::1', port: 9000, adminToken: 'admin-secret', apiTokens: [] },
      journal: { dir: '/var/lib/qqwb', maxBytes: 1024 },
      gateway: { maxFrameBytes: 2048, leaseTtlMs: 1500, replicaId: 'gw-eu.1', rotateEveryMs: 1_800_000 },
      delivery: {
        dedupeWindowMs: 604_800_000,
        shutdownGraceMs: 0,
        stallTimeoutMs: 5_000,
        deadLetter: { maxAgeMs: 129_600_000, maxCount: 500 },
      },
      outbound: {
        concurrency: 8,
        timeoutMs: 10_000,
        rateLimit: { max: 20, perMs: 1000 },
        retry: { attempts: 10, baseMs: 1000, maxMs: 300_000 },
      },
      log: { level: 'debug', format: 'auto' },
      targets: [
        {
          id: 'backend-2',
          url: 'http://10.0.0.5:8080/hook',
          secrets: [WHSEC, 'plain-old-secret'],
          events: ['group.*', 'c2c.message.*', 'GROUP_ADD_ROBOT', 'GROUP_MSG_*', '*'],
          groups: ['C9F7A'],
          headers: { 'X-Env': 'prod', 'X-Version': '2', 'X-Flag': 'true' },
          timeoutMs: 500,
          concurrency: 1,
          rateLimit: { max: 50, perMs: 60_000 },
          retry: { attempts: 3, baseMs: 250, maxMs: 300_000 },
          includeRaw: true,
          allowPrivate: true,
        },
      ],
    } satisfies BridgeConfig);
  });

  it.each([
    ['auto', { mode: 'auto' }],
    ['3', { mode: 'fixed', total: 3, ids: [0, 1, 2] }],
    ['{ total: 2, ids: [1] }', { mode: 'fixed', total: 2, ids: [1] }],
  ])('reads shards: %s', (shards, expected) => {
    expect(parseConfig(`${MINIMAL}  shards: ${shards}\n`, FILE, {}).qq.shards).toEqual(expected);
  });

  it.each([
    ['mode: webhook', { mode: 'webhook', path: '/qq/callback' }],
    ['mode: websocket', { mode: 'websocket', path: '/qq/callback' }],
    ['webhook: { path: /hooks/qq }', { mode: 'websocket', path: '/hooks/qq' }],
    ['webhook: { path: "/%E4%BA%8B" }', { mode: 'websocket', path: '/%E4%BA%8B' }],
  ])('reads qq.%s, the other webhook settings keeping their defaults', (line, expected) => {
    const { qq } = parseConfig(`${MINIMAL}  ${line}\n`, FILE, {});
    expect({ mode: qq.mode, path: qq.webhook.path }).toEqual(expected);
    expect(qq.webhook).toMatchObject({ maxBodyBytes: 1_048_576, maxSkewMs: 300_000 });
  });

  it.each([
    ['127.0.0.1:9464', '127.0.0.1', 9464],
    ['[::1]:9464', '::1', 9464],
    [':9464', '0.0.0.0', 9464],
    ['localhost:0', 'localhost', 0],
    ['metrics.internal:80', 'metrics.internal', 80],
  ])('reads server.listen %s', (listen, host, port) => {
    expect(parseConfig(`${MINIMAL}server: { listen: "${listen}" }\n`, FILE, {}).server).toMatchObject({
      host,
      port,
    });
  });

  it('reads redis.min_replicas 0..16 and refuses negatives, fractions and more than 16', () => {
    const minReplicas = (value: string): number =>
      parseConfig(`${MINIMAL}redis: { min_replicas: ${value} }\n`, FILE, {}).redis.minReplicas;
    expect([minReplicas('0'), minReplicas('3'), minReplicas('16')]).toEqual([0, 3, 16]);
    for (const bad of ['-1', '1.5', '17', 'one']) {
      expect(issuesOf(`${MINIMAL}redis: { min_replicas: ${bad} }\n`)[0]?.message).toMatch(
        /^expected a replica count, an integer from 0 to 16; found /,
      );
    }
  });

  it('bounds redis.replica_wait_timeout to 10ms..1s (0 would make WAIT block forever)', () => {
    const timeout = (value: string): number =>
      parseConfig(`${MINIMAL}redis: { replica_wait_timeout: ${value} }\n`, FILE, {}).redis
        .replicaWaitTimeoutMs;
    expect([timeout('10ms'), timeout('1s')]).toEqual([10, 1000]);
    expect(issuesOf(`${MINIMAL}redis: { replica_wait_timeout: 2s }\n`)[0]?.message).toBe(
      'expected a duration from 10ms to 1s, like 500ms; found "2s"',
    );
    expect(issuesOf(`${MINIMAL}redis: { replica_wait_timeout: 0s }\n`)[0]?.message).toMatch(
      /^expected a duration/,
    );
  });

  it('defaults redis.min_replicas to 1 with a cluster or sentinel and to 0 with a plain url', () => {
    expect(defaultMinReplicas({ url: 'redis://127.0.0.1:6379' })).toBe(0);
    expect(defaultMinReplicas({ cluster: { nodes: ['127.0.0.1:7000'] } })).toBe(1);
    expect(defaultMinReplicas({ sentinel: { name: 'm', nodes: ['127.0.0.1:26379'] } })).toBe(1);
    expect(parseConfig(MINIMAL, FILE, {}).redis.minReplicas).toBe(0);
  });

  it('reads gateway.rotate_every 0 and "0s" as rotation off and 1m as the shortest period', () => {
    const rotateEvery = (value: string): number =>
      parseConfig(`qq: { app_id: "1", client_secret: s }\ngateway: { rotate_every: ${value} }\n`, FILE, {})
        .gateway.rotateEveryMs;
    expect([rotateEvery('0'), rotateEvery('0s'), rotateEvery('1m'), rotateEvery('7d')]).toEqual([
      0,
      0,
      60_000,
      7 * 86_400_000,
    ]);
  });

  it('reads a single secret as a list of one', () => {
    expect(parseConfig(WITH_TARGET, FILE, {}).targets[0]?.secrets).toEqual([WHSEC]);
  });

  it('lets targets share settings through YAML anchors and merge keys', () => {
    const text = [
      MINIMAL.trimEnd(),
      'targets:',
      '  - &defaults',
      '    id: a',
      '    url: https://a.example.com',
      `    secret: ${WHSEC}`,
      '    timeout: 3s',
      '  - <<: *defaults',
      '    id: b',
      '',
    ].join('\n');
    const targets = parseConfig(text, FILE, {}).targets;
    expect(targets.map((target) => [target.id, target.url, target.timeoutMs])).toEqual([
      ['a', 'https://a.example.com', 3000],
      ['b', 'https://a.example.com', 3000],
    ]);
  });
});

describe('the result is deeply frozen', () => {
  const config = parseConfig(
    `${WITH_TARGET}    headers: { X-Env: prod }\n    rate_limit: { max: 1, per: 1s }\n`,
    FILE,
    {},
  );

  it.each([
    ['config', config],
    ['qq', config.qq],
    ['shards', config.qq.shards],
    ['server', config.server],
    ['targets', config.targets],
    ['a target', config.targets[0]],
    ['its secrets', config.targets[0]?.secrets],
    ['its events', config.targets[0]?.events],
    ['its headers', config.targets[0]?.headers],
    ['its retry', config.targets[0]?.retry],
    ['its rate limit', config.targets[0]?.rateLimit],
  ])('%s', (_name, value) => {
    expect(Object.isFrozen(value)).toBe(true);
  });

  it('refuses writes (ESM code is strict, so a write throws)', () => {
    expect(() => {
      (config.qq as { appId: string }).appId = 'changed';
    }).toThrow(TypeError);
    expect(() => {
      (config.targets as unknown[]).push({});
    }).toThrow(TypeError);
    expect(config.qq.appId).toBe('102000000');
  });
});

describe('secrets never appear in messages', () => {
  const everything = (text: string, env: Record<string, string> = {}): string => {
    try {
      parseConfig(text, FILE, env);
    } catch (err) {
      if (err instanceof ConfigError) return `${formatConfigError(err)}\n${err.message}`;
      throw err;
    }
    throw new Error('expected a ConfigError');
  };

  it.each([
    [
      'a client secret of the wrong type',
      'qq:\n  app_id: 1\n  client_secret: 1234567890\n',
      {},
      '1234567890',
    ],
    ['an admin token of the wrong type', `${MINIMAL}server: { admin_token: 987654321 }\n`, {}, '987654321'],
    [
      'a malformed whsec_ secret',
      `${MINIMAL}targets:\n  - id: a\n    url: https://a.example.com\n    secret: whsec_hunter2-is-not-base64\n`,
      {},
      'hunter2',
    ],
    [
      'a secret in a list',
      `${MINIMAL}targets:\n  - id: a\n    url: https://a.example.com\n    secret: [whsec_hunter2!!, 5]\n`,
      {},
      'hunter2',
    ],
    [
      'a header value',
      `${WITH_TARGET}    headers: { Authorization: "Bearer tok-123456\\n" }\n`,
      {},
      'tok-123456',
    ],
    [
      'a credential-named variable used in the wrong place',
      `${MINIMAL}redis: { url: "\${REDIS_PASSWORD}" }\n`,
      { REDIS_PASSWORD: 'pa55word-from-env' },
      'pa55word-from-env',
    ],
    [
      'a credential-named variable inside a longer value',
      `${MINIMAL}redis: { url: "http://x:\${REDIS_PASSWORD}@h" }\n`,
      { REDIS_PASSWORD: 'pa55word-from-env' },
      'pa55word-from-env',
    ],
    [
      'a credential-named variable quoted by a message',
      `${MINIMAL}  intents: ["\${BOT_TOKEN}"]\n`,
      { BOT_TOKEN: 'GUILDS_TOKEN_VALUE' },
      'GUILDS_TOKEN_VALUE',
    ],
    [
      'a YAML syntax error on the line of a secret',
      'qq:\n  app_id: 1\n   client_secret: yaml-broken-secret\n',
      {},
      'yaml-broken-secret',
    ],
    [
      'a password in a URL',
      `${MINIMAL}redis: { url: "http://user:s3cr3t-pw@redis:6379" }\n`,
      {},
      's3cr3t-pw',
    ],
  ])('%s', (_name, text, env: Record<string, string>, secret) => {
    const output = everything(text, env);
    expect(output).not.toContain(secret);
    expect(output.length).toBeGreaterThan(0);
  });

  it('says [redacted] where the value would be', () => {
    expect(issuesOf('qq:\n  app_id: 1\n  client_secret: 1234567890\n')[0]?.message).toBe(
      'expected the bot AppSecret (a non-empty string); found [redacted]',
    );
    expect(issuesOf(`${MINIMAL}redis: { url: "http://user:pw@redis:6379" }\n`)[0]?.message).toBe(
      'expected a Redis URL like redis://127.0.0.1:6379 (rediss:// for TLS); found "http://[redacted]@redis:6379"',
    );
  });
});
