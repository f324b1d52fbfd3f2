/**
 * The validated, frozen configuration every component receives a slice of. YAML uses human durations (`10s`);
 * here every duration is a number with its unit in the name.
 */
export interface BridgeConfig {
  /** Absolute path of the file this config was loaded from, for messages. */
  readonly source: string;
  /** YAML `qq:` — the bot's credentials, endpoints, intents and shards. */
  readonly qq: QqConfig;
  /** YAML `redis:` — the only shared state. */
  readonly redis: RedisConfig;
  /** YAML `server:` — health, metrics and admin HTTP server. */
  readonly server: ServerConfig;
  /** YAML `journal:` — local spill while Redis is unreachable. */
  readonly journal: JournalConfig;
  /** YAML `gateway:` — gateway session tuning. */
  readonly gateway: GatewayConfig;
  /** YAML `delivery:` — delivery tuning shared by all targets. */
  readonly delivery: DeliveryConfig;
  /** YAML `outbound:` — replies and API sends to QQ. */
  readonly outbound: OutboundConfig;
  /** YAML `log:`. */
  readonly log: LogConfig;
  /** YAML `targets:`; empty (the default) runs the gateway only. */
  readonly targets: readonly TargetConfig[];
}

export interface QqConfig {
  /** YAML `app_id`, required; a YAML number is stringified. */
  readonly appId: string;
  /** YAML `client_secret`, required. Never log it. */
  readonly clientSecret: string;
  /** Default https://bots.qq.com/app/getAppAccessToken */
  readonly tokenUrl: string;
  /** Default https://api.sgroup.qq.com */
  readonly apiBase: string;
  /** OR of every configured intent; default GROUP_AND_C2C_EVENT (1<<25). */
  readonly intents: number;
  /** YAML `shards`: `auto` (default), N (ids 0..N-1) or `{ total, ids }`. Not used in webhook mode. */
  readonly shards: ShardsConfig;
  /**
   * YAML `mode`: `websocket` (default) holds the gateway session; `webhook` opens no WebSocket and takes QQ's
   * signed HTTP callbacks on {@link QqWebhookConfig.path} instead (docs/qq-protocol.md §6).
   */
  readonly mode: QqMode;
  /** YAML `webhook:` — the callback route; used in webhook mode only. */
  readonly webhook: QqWebhookConfig;
}

/** How QQ pushes events to the bridge. */
export type QqMode = 'websocket' | 'webhook';

export interface QqWebhookConfig {
  /** Path of the callback route on the bridge HTTP server; default `/qq/callback`. */
  readonly path: string;
  /** Largest callback body accepted, in bytes; default 1 MiB (1048576). Bigger ones get 413. */
  readonly maxBodyBytes: number;
  /** Largest accepted distance between `X-Signature-Timestamp` and the local clock, in ms; default 5m. */
  readonly maxSkewMs: number;
}

/** `auto` asks /gateway/bot for the shard count and runs every id; `fixed` runs `ids` out of `total`. */
export type ShardsConfig =
  | { readonly mode: 'auto' }
  | { readonly mode: 'fixed'; readonly total: number; readonly ids: readonly number[] };

export interface RedisConfig {
  /**
   * The single node's URL (YAML `url`, default redis://127.0.0.1:6379); empty under cluster or sentinel. May hold
   * a password: never log it. Prefer {@link RedisConfig.connection}, which every connection is built from.
   */
  readonly url: string;
  /** How Redis is reached: one node, a Cluster or a Sentinel-managed master (src/redis/connections.ts). */
  readonly connection: RedisConnectionConfig;
  /** BullMQ and bridge key prefix; hash-tagged (`{qqwb}`, the default) so Redis Cluster keeps it in one slot. */
  readonly prefix: string;
  /**
   * Replicas that must confirm an enqueue (WAIT) before it counts as durable; 0 sends no WAIT. YAML
   * `min_replicas`, defaulted by `defaultMinReplicas` (config/min-replicas.ts).
   */
  readonly minReplicas: number;
  /** YAML `replica_wait_timeout` (default 500ms): how long one WAIT blocks. */
  readonly replicaWaitTimeoutMs: number;
}

/** A node's address, from a validated `host:port`. */
export interface RedisNodeAddress {
  readonly host: string;
  readonly port: number;
}

/** YAML `tls:` of cluster or sentinel; `true` gives `{ rejectUnauthorized: true }`. */
export interface RedisTlsConfig {
  /** PEM file of the CAs to trust; read when connecting. */
  readonly caFile?: string;
  readonly servername?: string;
  readonly rejectUnauthorized: boolean;
}

export type RedisConnectionConfig =
  | { readonly kind: 'single'; readonly url: string }
  | {
      readonly kind: 'cluster';
      readonly nodes: readonly RedisNodeAddress[];
      readonly username?: string;
      /** Never log it. */
      readonly password?: string;
      readonly tls?: RedisTlsConfig;
      /** Announced `host:port` (as ioredis keys it: no brackets) → the address to dial. */
      readonly natMap: Readonly<Record<string, RedisNodeAddress>>;
    }
  | {
      readonly kind: 'sentinel';
      /** The monitored master's name. */
      readonly name: string;
      readonly nodes: readonly RedisNodeAddress[];
      readonly username?: string;
      /** Of the master and replicas. Never log it. */
      readonly password?: string;
      readonly sentinelUsername?: string;
      /** Of the Sentinels themselves. Never log it. */
      readonly sentinelPassword?: string;
      /** TLS to the master and to the Sentinels alike. */
      readonly tls?: RedisTlsConfig;
    };

export interface ServerConfig {
  /** From YAML `listen` (host:port; default 127.0.0.1:9464). No brackets around IPv6; `:port` gives 0.0.0.0. */
  readonly host: string;
  /** From YAML `listen`; default 9464; 0 picks a free port. */
  readonly port: number;
  /** YAML `admin_token`; empty string (the default) disables the admin routes. */
  readonly adminToken: string;
  /** YAML `api_tokens`: Bearer tokens of the send API (`/v1/*`), several while rotating; empty turns it off. Never log. */
  readonly apiTokens: readonly string[];
}

export interface JournalConfig {
  /** Directory, relative to the working directory; default ./data/journal. */
  readonly dir: string;
  /** In bytes; default 256 MiB (268435456). */
  readonly maxBytes: number;
}

export interface GatewayConfig {
  /** Largest accepted WebSocket frame, in bytes; default 1 MiB (1048576). */
  readonly maxFrameBytes: number;
  /** Session lease TTL for gateway replicas, in ms; default 10s. */
  readonly leaseTtlMs: number;
  /** `gateway.replica_id`: this process's stable identity in leases; default `<host>-<hash of journal.dir>`. */
  readonly replicaId: string;
  /** Age (since READY) at which a gateway session is replaced by a fresh one, in ms; 0 = off; default 24h. */
  readonly rotateEveryMs: number;
}

export interface DeliveryConfig {
  /** Window in which the same (event, target) is delivered once, in ms; default 24h. */
  readonly dedupeWindowMs: number;
  /** How long SIGTERM waits for in-flight deliveries, in ms; default 10s; 0 does not wait. */
  readonly shutdownGraceMs: number;
  /** A dead worker's in-flight delivery goes to another worker after this, in ms; default 30s (BullMQ lock). */
  readonly stallTimeoutMs: number;
  /** YAML `dead_letter:` — how long and how many dead letters each target keeps. */
  readonly deadLetter: DeadLetterRetentionConfig;
}

/** Retention of each target's dead letters; the worker role trims them on a timer. */
export interface DeadLetterRetentionConfig {
  /** Dead letters that failed longer ago than this are deleted, in ms; default 7d. */
  readonly maxAgeMs: number;
  /** Most dead letters kept per target, the newest; default 10000. */
  readonly maxCount: number;
}

/** Retries: `attempts` in total, exponential backoff with full jitter from `baseMs`, capped at `maxMs`. */
export interface RetryConfig {
  readonly attempts: number;
  readonly baseMs: number;
  readonly maxMs: number;
}

export interface OutboundConfig {
  /** Messages in flight at once per worker process; default 8. */
  readonly concurrency: number;
  /** Time limit of one call to QQ in ms; default 10000. */
  readonly timeoutMs: number;
  /** At most `max` messages per `perMs` ms, across all workers; default 20 per 1000 ms. */
  readonly rateLimit: { readonly max: number; readonly perMs: number };
  /** Default 10 attempts, base 1 s, max 5 min. */
  readonly retry: RetryConfig;
}

export interface LogConfig {
  /** Default info. */
  readonly level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
  /** `auto` (the default): `pretty` when stdout is a terminal, `json` otherwise. */
  readonly format: 'auto' | 'json' | 'pretty';
}

export interface TargetConfig {
  /** [a-z0-9-]+, unique; names the queue. */
  readonly id: string;
  /** http(s) URL events are POSTed to; required. */
  readonly url: string;
  /** YAML `secret`: one or more secrets (several while rotating). `whsec_<base64>` or a raw string. Never log. */
  readonly secrets: readonly string[];
  /** Globs over envelope `type` (`group.*`) or QQ names (`GROUP_ADD_ROBOT`); default ["*"]. */
  readonly events: readonly string[];
  /** Allow-list of group_openid; empty (the default) means all. */
  readonly groups: readonly string[];
  /** Extra static headers, names as written, values stringified; default {}. Reserved names are refused. */
  readonly headers: Readonly<Record<string, string>>;
  /** One attempt's time limit, in ms; default 10s. */
  readonly timeoutMs: number;
  /** Deliveries in flight per worker process; default 8. */
  readonly concurrency: number;
  /** YAML `rate_limit`: at most `max` deliveries per `perMs` ms; absent (the default) means no limit. */
  readonly rateLimit?: { readonly max: number; readonly perMs: number };
  /** Attempts in total (first included; default 15); backoff base and cap in ms (defaults 1s and 1h). */
  readonly retry: RetryConfig;
  /** YAML `include_raw`: add the original frame as `raw`; default false. */
  readonly includeRaw: boolean;
  /** YAML `allow_private`: let the URL resolve to private/loopback addresses (SSRF guard off); default false. */
  readonly allowPrivate: boolean;
}
