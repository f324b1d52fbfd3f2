import type { ReconnectReason } from './reconnect-plan.js';
import type { ShardStatus } from './session-state.js';

/** Why a shard was dark: the reconnect that began it, or `start` (from the start or a lease takeover to READY). */
export type DarkReason = ReconnectReason | 'start';

/** Statuses in which the shard receives events; anything else but `stopped` is dark time. */
const HEALTHY: ReadonlySet<ShardStatus> = new Set(['ready', 'resumed']);

/**
 * Measures one shard's dark time: how long it could not receive events, from the moment it stopped being
 * READY/RESUMED (or from its start) until it is READY/RESUMED again, which is when the episode is reported with
 * the reason that began it. Fed with shard-level status changes and reconnect reasons (the session hooks), so a
 * wrapper that keeps the shard healthy across a session handover reports no dark time for it. `stopped` ends an
 * episode unreported: a shard stopped on purpose (shutdown, handed to another replica) is not an outage here.
 */
export class DarkTimeMeter {
  private darkSince: number | undefined;
  private reason: DarkReason = 'start';
  /** The reason of a reconnect told while still healthy: it begins the episode the next status change opens. */
  private nextReason: ReconnectReason | undefined;

  constructor(
    private readonly report: (reason: DarkReason, seconds: number) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.darkSince = now();
  }

  /** A reconnect was scheduled; the first one of an episode names it. */
  reconnect(reason: ReconnectReason): void {
    if (this.darkSince === undefined) this.nextReason ??= reason;
  }

  status(status: ShardStatus): void {
    if (HEALTHY.has(status)) {
      if (this.darkSince !== undefined)
        this.report(this.reason, Math.max(0, this.now() - this.darkSince) / 1000);
      this.darkSince = undefined;
      this.nextReason = undefined;
      return;
    }
    if (status === 'stopped') {
      this.darkSince = undefined;
      this.nextReason = undefined;
      return;
    }
    if (this.darkSince !== undefined) return;
    this.darkSince = this.now();
    // a shard that goes dark without a reconnect first was closed by the gateway for good (fatal)
    this.reason = this.nextReason ?? 'close';
    this.nextReason = undefined;
  }
}
