/**
 * The validated, frozen configuration every component receives a slice of. YAML uses human durations (`10s`);
 * here every duration is a number with its unit in the name.
 */
export interface BridgeConfig {
  /** Absolute path of the file this config was loaded from, for messages. */
  readonly source: string;
  readonly qq: QqConfig;
  readonly redis: RedisConfig;
  readonly server: ServerConfig;
  readonly journal: JournalConfig;
  readonly gateway: GatewayConfig;
  readonly delivery: DeliveryConfig;
  readonly log: LogConfig;
  readonly targets: readonly TargetConfig[];
}

export interface QqConfig {
  readonly appId: string;
  readonly clientSecret: string;
  /** Default https://bots.qq.com/app/getAppAccessToken */
  readonly tokenUrl: string;
  /** Default https://api.sgroup.qq.com */
  readonly apiBase: string;
  /** OR of every configured intent; default GROUP_AND_C2C_EVENT (1<<25). */
  readonly intents: number;
  readonly shards: ShardsConfig;
}

export type ShardsConfig =
  | { readonly mode: 'auto' }
  | { readonly mode: 'fixed'; readonly total: number; readonly ids: readonly number[] };

export interface RedisConfig {
  readonly url: string;
  /** BullMQ and bridge key prefix; hash-tagged (`{qqwb}`) so Redis Cluster keeps it in one slot. */
  readonly prefix: string;
}

export interface ServerConfig {
  /** host:port; default 127.0.0.1:9464. */
  readonly host: string;
  readonly port: number;
  /** Empty string disables the admin routes. */
  readonly adminToken: string;
}

export interface JournalConfig {
  readonly dir: string;
  /** Default 256 MiB. */
  readonly maxBytes: number;
}

export interface GatewayConfig {
  /** Largest accepted WebSocket frame; default 1 MiB. */
  readonly maxFrameBytes: number;
  /** Session lease TTL for gateway replicas; default 10s. */
  readonly leaseTtlMs: number;
}

export interface DeliveryConfig {
  /** Window in which the same (event, target) is delivered once; default 24h. */
  readonly dedupeWindowMs: number;
  /** How long SIGTERM waits for in-flight deliveries; default 10s. */
  readonly shutdownGraceMs: number;
}

export interface LogConfig {
  readonly level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
}

export interface TargetConfig {
  /** [a-z0-9-]+, unique; names the queue. */
  readonly id: string;
  readonly url: string;
  /** One or more secrets (several while rotating). `whsec_<base64>` or a raw string. */
  readonly secrets: readonly string[];
  /** Globs over envelope `type` (`group.*`) or QQ names (`GROUP_ADD_ROBOT`); default ["*"]. */
  readonly events: readonly string[];
  /** Allow-list of group_openid; empty means all. */
  readonly groups: readonly string[];
  readonly headers: Readonly<Record<string, string>>;
  /** Default 10s. */
  readonly timeoutMs: number;
  /** Default 8. */
  readonly concurrency: number;
  readonly rateLimit?: { readonly max: number; readonly perMs: number };
  readonly retry: { readonly attempts: number; readonly baseMs: number; readonly maxMs: number };
  readonly includeRaw: boolean;
  readonly allowPrivate: boolean;
}
