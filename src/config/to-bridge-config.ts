import type {
  BridgeConfig,
  RedisConnectionConfig,
  RedisNodeAddress,
  RedisTlsConfig,
  RetryConfig,
  ShardsConfig,
  TargetConfig,
} from './types.js';
import { parseHostPort } from './host-port.js';
import { parseListen } from './listen.js';
import { resolveReplicaId } from './replica-id.js';
import { defaultMinReplicas } from './min-replicas.js';
import { durationMs, intentMask, REDIS_URL_DEFAULT, type ConfigDocument } from './schema.js';

type TargetDocument = NonNullable<ConfigDocument['targets']>[number];

function toShards(shards: ConfigDocument['qq']['shards']): ShardsConfig {
  if (shards === 'auto') return { mode: 'auto' };
  if (typeof shards === 'number')
    return { mode: 'fixed', total: shards, ids: Array.from({ length: shards }, (_, id) => id) };
  return { mode: 'fixed', total: shards.total, ids: [...shards.ids] };
}

function toAddress(text: string): RedisNodeAddress {
  const address = parseHostPort(text);
  if (address === undefined) throw new TypeError(`redis node ${JSON.stringify(text)} was not validated`);
  return address;
}

type RedisDocument = ConfigDocument['redis'];
type TlsDocument = NonNullable<NonNullable<RedisDocument['cluster']>['tls']>;

function toTls(tls: TlsDocument | undefined): { tls?: RedisTlsConfig } {
  if (tls === undefined || tls === false) return {};
  if (tls === true) return { tls: { rejectUnauthorized: true } };
  return {
    tls: {
      rejectUnauthorized: tls.reject_unauthorized,
      ...(tls.ca_file === undefined ? {} : { caFile: tls.ca_file }),
      ...(tls.servername === undefined ? {} : { servername: tls.servername }),
    },
  };
}

/** Copies the optional string settings that are set, renamed. */
function present(entries: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(entries).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}

function toRedisConnection(redis: RedisDocument): RedisConnectionConfig {
  if (redis.cluster) {
    const { cluster } = redis;
    return {
      kind: 'cluster',
      nodes: cluster.nodes.map(toAddress),
      ...present({ username: cluster.username, password: cluster.password }),
      ...toTls(cluster.tls),
      natMap: Object.fromEntries(
        Object.entries(cluster.nat_map ?? {}).map(([from, to]) => {
          const announced = toAddress(from);
          return [`${announced.host}:${announced.port}`, toAddress(to)];
        }),
      ),
    };
  }
  if (redis.sentinel) {
    const { sentinel } = redis;
    return {
      kind: 'sentinel',
      name: sentinel.name,
      nodes: sentinel.nodes.map(toAddress),
      ...present({
        username: sentinel.username,
        password: sentinel.password,
        sentinelUsername: sentinel.sentinel_username,
        sentinelPassword: sentinel.sentinel_password,
      }),
      ...toTls(sentinel.tls),
    };
  }
  return { kind: 'single', url: redis.url ?? REDIS_URL_DEFAULT };
}

function toRetry(retry: { attempts: number; base: string; max: string }): RetryConfig {
  return { attempts: retry.attempts, baseMs: durationMs(retry.base), maxMs: durationMs(retry.max) };
}

function toTarget(target: TargetDocument): TargetConfig {
  return {
    id: target.id,
    url: target.url,
    secrets: typeof target.secret === 'string' ? [target.secret] : [...target.secret],
    events: [...target.events],
    groups: [...target.groups],
    headers: Object.fromEntries(Object.entries(target.headers).map(([name, value]) => [name, String(value)])),
    timeoutMs: durationMs(target.timeout),
    concurrency: target.concurrency,
    ...(target.rate_limit === undefined
      ? {}
      : { rateLimit: { max: target.rate_limit.max, perMs: durationMs(target.rate_limit.per) } }),
    retry: toRetry(target.retry),
    includeRaw: target.include_raw,
    allowPrivate: target.allow_private,
  };
}

/**
 * Maps the validated file onto the shape components use: camelCase, durations in ms, `secret` as a list,
 * `listen` split into host and port, intents OR'd into one mask.
 */
export function toBridgeConfig(doc: ConfigDocument, source: string): BridgeConfig {
  const listen = parseListen(doc.server.listen);
  if (listen === undefined) throw new TypeError('server.listen was not validated');
  return {
    source,
    qq: {
      appId: String(doc.qq.app_id),
      clientSecret: doc.qq.client_secret,
      tokenUrl: doc.qq.token_url,
      apiBase: doc.qq.api_base,
      intents: intentMask(doc.qq.intents),
      shards: toShards(doc.qq.shards),
      mode: doc.qq.mode,
      webhook: {
        path: doc.qq.webhook.path,
        maxBodyBytes: doc.qq.webhook.max_body_bytes,
        maxSkewMs: durationMs(doc.qq.webhook.max_skew),
      },
    },
    redis: {
      url: doc.redis.cluster || doc.redis.sentinel ? '' : (doc.redis.url ?? REDIS_URL_DEFAULT),
      connection: toRedisConnection(doc.redis),
      prefix: doc.redis.prefix,
      minReplicas: doc.redis.min_replicas ?? defaultMinReplicas(doc.redis),
      replicaWaitTimeoutMs: durationMs(doc.redis.replica_wait_timeout),
    },
    server: {
      host: listen.host,
      port: listen.port,
      adminToken: doc.server.admin_token,
      apiTokens: [...doc.server.api_tokens],
    },
    journal: { dir: doc.journal.dir, maxBytes: doc.journal.max_bytes },
    gateway: {
      maxFrameBytes: doc.gateway.max_frame_bytes,
      leaseTtlMs: durationMs(doc.gateway.lease_ttl),
      replicaId: resolveReplicaId(doc.gateway.replica_id, doc.journal.dir),
      rotateEveryMs: doc.gateway.rotate_every === 0 ? 0 : durationMs(doc.gateway.rotate_every),
    },
    delivery: {
      dedupeWindowMs: durationMs(doc.delivery.dedupe_window),
      shutdownGraceMs: durationMs(doc.delivery.shutdown_grace),
      stallTimeoutMs: durationMs(doc.delivery.stall_timeout),
      deadLetter: {
        maxAgeMs: durationMs(doc.delivery.dead_letter.max_age),
        maxCount: doc.delivery.dead_letter.max_count,
      },
    },
    outbound: {
      concurrency: doc.outbound.concurrency,
      timeoutMs: durationMs(doc.outbound.timeout),
      rateLimit: { max: doc.outbound.rate_limit.max, perMs: durationMs(doc.outbound.rate_limit.per) },
      retry: toRetry(doc.outbound.retry),
    },
    log: { level: doc.log.level, format: doc.log.format },
    targets: (doc.targets ?? []).map(toTarget),
  };
}
