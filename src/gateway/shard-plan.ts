import type { ShardsConfig } from '../config/types.js';
import type { GatewayBotInfo } from '../qq/openapi.js';

export interface ShardPlan {
  total: number;
  ids: number[];
  /** Pause between starting two shards: QQ allows `max_concurrency` new sessions per 5 s. */
  startIntervalMs: number;
  /** Set when the daily session-start budget looks too small for this plan. */
  warning?: string;
}

const SESSION_START_WINDOW_MS = 5_000;

/** Which shards this process runs, from `qq.shards` and what `/gateway/bot` recommends. */
export function planShards(config: ShardsConfig, info: GatewayBotInfo): ShardPlan {
  const total = config.mode === 'auto' ? info.shards : config.total;
  const ids = config.mode === 'auto' ? Array.from({ length: total }, (_, i) => i) : [...config.ids];
  // Resumes may not need a session start, so a shortfall is reported rather than refused.
  const warning =
    ids.length > info.sessionStartLimit.remaining
      ? `QQ allows ${info.sessionStartLimit.remaining} more session starts for ` +
        `${Math.ceil(info.sessionStartLimit.resetAfterMs / 60_000)} min but ${ids.length} shards are configured; ` +
        'shards without a resumable session may be refused'
      : undefined;
  return {
    total,
    ids,
    startIntervalMs: Math.ceil(SESSION_START_WINDOW_MS / info.sessionStartLimit.maxConcurrency),
    ...(warning ? { warning } : {}),
  };
}
