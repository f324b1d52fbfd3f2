import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { GatewayBotInfo, QqOpenApi } from '../qq/openapi.js';

/** Share of `session_start_limit.total` kept back from rotations in any case. */
const RESERVE_FRACTION = 0.05;

/**
 * The fewest session starts left at which a rotation may still spend one: more than
 * max(shards × 2, 5 % of total). A rotation is optional and recovery is not, so rotations only spend what lies
 * above a reserve for recovery: every shard re-identifying after a restart whose resumes QQ refuses (shards × 1),
 * once more for another such event before the counter resets (× 2), and at least 5 % of the day's total (50 of the
 * usual 1000) for what else spends this bot's budget — another deployment, a developer connecting with the same
 * bot, an op 9 loop (docs/qq-protocol.md §7.1, §9 item 6).
 */
export function startBudgetReserve(total: number, shardCount: number): number {
  return Math.max(shardCount * 2, Math.ceil(total * RESERVE_FRACTION));
}

/** Whether `remaining` is too low for a rotation; see {@link startBudgetReserve}. */
export function isStartBudgetLow(limit: GatewayBotInfo['sessionStartLimit'], shardCount: number): boolean {
  return limit.remaining <= startBudgetReserve(limit.total, shardCount);
}

/** What {@link StartBudget.check} decided: go ahead, or skip this rotation and try again in `retryInMs`. */
export type StartBudgetVerdict =
  { ok: true } | { ok: false; why: 'budget_low' | 'discovery_failed'; retryInMs: number };

export interface StartBudgetOptions {
  api: Pick<QqOpenApi, 'gatewayBot'>;
  /** The plan's shard count (`[shardId, shardCount]`), for the reserve. */
  shardCount: () => number;
  logger: Logger;
  /** Wait after a failed discovery before the next try; the low-budget wait is QQ's `reset_after` instead. */
  discoveryRetryMs: number;
  /** The longest wait before looking again, whatever `reset_after` says (the rotation period). */
  maxWaitMs: number;
}

/**
 * Asks `GET /gateway/bot` whether a rotation may spend a session start. One per manager, shared by its shards, so
 * a low budget is logged at warn once per episode (then at debug) instead of once per shard and try.
 */
export class StartBudget {
  private lowEpisode = false;
  private discoveryEpisode = false;
  private readonly log: Logger;

  constructor(private readonly options: StartBudgetOptions) {
    this.log = options.logger.child({ component: 'gateway-rotation' });
  }

  async check(shardId: number): Promise<StartBudgetVerdict> {
    const { api, discoveryRetryMs, maxWaitMs } = this.options;
    let info: GatewayBotInfo;
    try {
      info = await api.gatewayBot();
    } catch (err) {
      const fields = { shardId, err: describeError(err), retryInMs: discoveryRetryMs };
      const message =
        'gateway discovery (GET /gateway/bot) failed; skipping this session rotation and retrying';
      this.log[this.discoveryEpisode ? 'debug' : 'warn'](fields, message);
      this.discoveryEpisode = true;
      return { ok: false, why: 'discovery_failed', retryInMs: discoveryRetryMs };
    }
    this.discoveryEpisode = false;
    const limit = info.sessionStartLimit;
    const shardCount = this.options.shardCount();
    if (!isStartBudgetLow(limit, shardCount)) {
      if (this.lowEpisode) {
        this.log.info(
          { remaining: limit.remaining, total: limit.total },
          'session starts available again; rotating sessions',
        );
      }
      this.lowEpisode = false;
      return { ok: true };
    }
    const retryInMs = Math.min(Math.max(limit.resetAfterMs, discoveryRetryMs), maxWaitMs);
    const fields = {
      shardId,
      remaining: limit.remaining,
      total: limit.total,
      reserve: startBudgetReserve(limit.total, shardCount),
      resetAfterMs: limit.resetAfterMs,
      retryInMs,
      retryAt: new Date(Date.now() + retryInMs).toISOString(),
    };
    this.log[this.lowEpisode ? 'debug' : 'warn'](
      fields,
      'few QQ session starts left (session_start_limit.remaining at or below the reserve); not rotating sessions ' +
        'until it resets — check for something identifying in a loop (another deployment, op 9 / 4903 loops)',
    );
    this.lowEpisode = true;
    return { ok: false, why: 'budget_low', retryInMs };
  }
}
