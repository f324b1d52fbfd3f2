/**
 * Whether the bot's gateway sessions are READY, shared through Redis so that a worker on any machine knows. QQ
 * answers a send made while the bot has no live gateway session with HTTP 200 and drops it (docs/qq-protocol.md
 * §7.1, §9 item 9), so the outbound worker holds messages until this says ready.
 *
 * One hash per bot; field `<shardId>/<total>` holds the unix ms until which that shard counts as READY (0 when it is
 * not). A gateway writes it on every status change and refreshes it while READY; a crashed gateway's fields simply
 * run out, so no stale "ready" outlives it by more than the freshness it wrote.
 */
import type { RedisClient } from '../redis/client.js';
import { gatewayReadyKey } from '../redis/keys.js';

export { gatewayReadyKey } from '../redis/keys.js';

/** How long the hash outlives its last write, so a bot that is gone leaves no key behind. */
const KEY_TTL_MS = 24 * 60 * 60_000;

/** The shards in `fields` that are READY at `nowMs`, as `[id, total]`. */
function liveShards(fields: Record<string, string>, nowMs: number): [number, number][] {
  const live: [number, number][] = [];
  for (const [field, value] of Object.entries(fields)) {
    const match = /^(\d+)\/(\d+)$/.exec(field);
    if (!match || !(Number(value) > nowMs)) continue;
    live.push([Number(match[1]), Number(match[2])]);
  }
  return live;
}

/**
 * True when the READY shards at `nowMs` are every shard of the bot: ids 0 … total−1 of the largest total any
 * live shard reports. No live shard at all is not ready.
 */
export function shardsCoverBot(fields: Record<string, string>, nowMs: number): boolean {
  const live = liveShards(fields, nowMs);
  if (live.length === 0) return false;
  const total = Math.max(...live.map(([, count]) => count));
  const ids = new Set(live.filter(([, count]) => count === total).map(([id]) => id));
  for (let id = 0; id < total; id++) if (!ids.has(id)) return false;
  return true;
}

/** Reads and writes a bot's gateway readiness. */
export class GatewayReadiness {
  private readonly key: string;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    appId: string,
  ) {
    this.key = gatewayReadyKey(prefix, appId);
  }

  /** Records shard `[id, total]` as READY for `freshMs` from now, or as not ready. */
  async mark(shard: readonly [number, number], ready: boolean, freshMs: number): Promise<void> {
    const until = ready ? Date.now() + freshMs : 0;
    await this.redis
      .multi()
      .hset(this.key, `${shard[0]}/${shard[1]}`, String(until))
      .pexpire(this.key, KEY_TTL_MS)
      .exec();
  }

  /** True when every shard of the bot is READY now. */
  async isReady(nowMs = Date.now()): Promise<boolean> {
    return shardsCoverBot(await this.redis.hgetall(this.key), nowMs);
  }
}
