import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultReplicaId } from '../../src/config/replica-id.js';
import type { BridgeConfig, RedisConnectionConfig, TargetConfig } from '../../src/config/types.js';
import { INTENTS } from '../../src/qq/intents.js';
import { REDIS_URL } from './redis.js';

/** One temp root per test process for journals, removed when the process exits. */
let journalRoot: string | undefined;
function journalDir(): string {
  if (!journalRoot) {
    const root = mkdtempSync(join(tmpdir(), 'qqwb-test-'));
    journalRoot = root;
    process.once('exit', () => rmSync(root, { recursive: true, force: true }));
  }
  return mkdtempSync(join(journalRoot, 'journal-'));
}

/** A target with the documented defaults, loopback allowed, fast retries. */
export function testTarget(
  overrides: Partial<TargetConfig> & Pick<TargetConfig, 'id' | 'url'>,
): TargetConfig {
  return {
    secrets: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
    events: ['*'],
    groups: [],
    headers: {},
    timeoutMs: 2_000,
    concurrency: 4,
    retry: { attempts: 5, baseMs: 50, maxMs: 500 },
    includeRaw: false,
    allowPrivate: true,
    ...overrides,
  };
}

/** A complete config pointing at a simulator origin and a test prefix. */
export function testConfig(options: {
  simulatorOrigin?: string;
  prefix: string;
  targets?: TargetConfig[];
  appId?: string;
  clientSecret?: string;
  intents?: number;
  shards?: BridgeConfig['qq']['shards'];
  mode?: BridgeConfig['qq']['mode'];
  /** `gateway.replica_id`; default derived from the config's own journal directory, as the app does. */
  replicaId?: string;
  /** How Redis is reached; default the test Redis at REDIS_URL. */
  redis?: RedisConnectionConfig;
}): BridgeConfig {
  const origin = options.simulatorOrigin ?? 'http://127.0.0.1:9';
  const journal = journalDir();
  return {
    source: '<test>',
    qq: {
      appId: options.appId ?? '102000000',
      clientSecret: options.clientSecret ?? 'simulator-secret',
      tokenUrl: `${origin}/app/getAppAccessToken`,
      apiBase: origin,
      intents: options.intents ?? INTENTS.GROUP_AND_C2C_EVENT,
      shards: options.shards ?? { mode: 'auto' },
      mode: options.mode ?? 'websocket',
      webhook: { path: '/qq/callback', maxBodyBytes: 1024 * 1024, maxSkewMs: 300_000 },
    },
    redis: {
      url: options.redis ? (options.redis.kind === 'single' ? options.redis.url : '') : REDIS_URL,
      connection: options.redis ?? { kind: 'single', url: REDIS_URL },
      prefix: options.prefix,
      minReplicas: 0,
      replicaWaitTimeoutMs: 500,
    },
    server: { host: '127.0.0.1', port: 0, adminToken: '', apiTokens: [] },
    // each config its own journal: a journal directory belongs to one process
    journal: { dir: journal, maxBytes: 1024 * 1024 },
    gateway: {
      maxFrameBytes: 1024 * 1024,
      leaseTtlMs: 10_000,
      replicaId: options.replicaId ?? defaultReplicaId(journal),
      rotateEveryMs: 0,
    },
    delivery: {
      dedupeWindowMs: 24 * 3600_000,
      shutdownGraceMs: 2_000,
      stallTimeoutMs: 30_000,
      deadLetter: { maxAgeMs: 7 * 86_400_000, maxCount: 10_000 },
    },
    outbound: {
      concurrency: 8,
      timeoutMs: 10_000,
      rateLimit: { max: 20, perMs: 1000 },
      retry: { attempts: 10, baseMs: 1000, maxMs: 300_000 },
    },
    log: { level: 'info', format: 'auto' },
    targets: options.targets ?? [],
  };
}

/** `config` on the one Redis node at `url` (a test's own server), the URL and the connection alike. */
export function onRedisUrl(config: BridgeConfig, url: string): BridgeConfig {
  return { ...config, redis: { ...config.redis, url, connection: { kind: 'single', url } } };
}
