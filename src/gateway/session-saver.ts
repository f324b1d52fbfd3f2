import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { PersistedSession, SessionStore } from './session-store.js';

/** See {@link SessionSaverOptions.retryDelayMs}. */
export const DEFAULT_SAVE_RETRY_DELAY_MS = 5_000;

/**
 * See {@link SessionSaverOptions.intervalMs}. What it costs: after a kill -9 the next process resumes from a seq
 * up to this much older, and QQ replays those events; the replay is dropped by the delivery dedupe, whose window
 * (`delivery.dedupe_window`, default 24 h, docs/design.md §4) already has to span the restart itself, seconds
 * long. 100 ms of events is a few dozen replays even for a busy shard, while it cuts the save round trips to at
 * most ten a second.
 */
export const DEFAULT_SAVE_INTERVAL_MS = 100;

export interface SessionSaverOptions {
  shardId: number;
  store: SessionStore;
  /** What a save writes, read when it starts: the session id and durable seq, or undefined while there is none. */
  current: () => PersistedSession | undefined;
  logger: Logger;
  /** Told about every save that failed, retries included. */
  onFailure?: ((error: string) => void) | undefined;
  /**
   * While the last save failed, it is tried again after this long even if the seq does not move, so a quiet shard
   * does not stay unsaved (and reported failing) until its next event; default {@link DEFAULT_SAVE_RETRY_DELAY_MS}.
   */
  retryDelayMs?: number | undefined;
  /**
   * Saves start at least this far apart, and a seq that moved is saved at the latest this long after it moved
   * (or as soon as a slower save in flight lands); default {@link DEFAULT_SAVE_INTERVAL_MS}. 0 saves every move.
   */
  intervalMs?: number | undefined;
}

/**
 * Saves a shard's resume state off the dispatch path, coalescing in time: at most one save in flight and one save
 * started per interval, so a busy shard costs Redis ten saves a second rather than one per event.
 *
 * A move of the seq after a quiet spell (the previous save started an interval ago or longer) is saved at once:
 * that costs no more saves than waiting would (one either way), keeps the stored seq current for a shard that
 * receives an event now and then, and runs in the turn the seq moved in, with no timer of its own. A move that
 * comes sooner waits: a timer saves it an interval after it moved, unless a later move, once the interval since
 * the previous save is over, saves it first (which again needs no timer turn). close() saves at once whatever is
 * pending, so a stop or a lease hand-off leaves the latest durable seq behind; a rotation's old session is
 * silenced instead (its successor owns the stored state), so what it held back is dropped, not saved.
 *
 * A save that fails (Redis away, a refused lease fence) is not worth ending the session for: the dispatches are
 * already durable, and a persisted seq that lags only means QQ replays a few events after a restart, which dedupe
 * absorbs. It is counted and reported through {@link SessionSaver.failing} instead, because a process that cannot
 * save at all would, after a restart, resume from an old seq or not at all.
 */
export class SessionSaver {
  private saving: Promise<void> | undefined;
  /** The seq moved since the running or last save read it. */
  private dirty = false;
  /** When the oldest unsaved move happened (performance.now() ms): its save is due an interval later. */
  private dirtySince = 0;
  /** When the last save started (performance.now() ms); the next may start an interval later. */
  private lastStartedAt = Number.NEGATIVE_INFINITY;
  private trailingTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private lastFailed = false;
  private closed = false;
  /** No more saves at all: a successor session owns the stored state (see {@link SessionSaver.silence}). */
  private silenced = false;
  private readonly log: Logger;
  private readonly intervalMs: number;

  constructor(private readonly options: SessionSaverOptions) {
    this.log = options.logger;
    this.intervalMs = options.intervalMs ?? DEFAULT_SAVE_INTERVAL_MS;
  }

  /** Whether the last save failed; the next one that succeeds clears it. */
  get failing(): boolean {
    return this.lastFailed;
  }

  /** The state moved: saves it now, or within the interval (see the class comment). */
  schedule(): void {
    if (this.silenced || this.closed) return;
    this.clearRetry();
    if (!this.dirty) this.dirtySince = performance.now();
    this.dirty = true;
    this.plan();
  }

  /**
   * Starts no save from now on (a save in flight still lands): the session stops without persisting, because a
   * successor session owns the stored state. close() then only waits for the save in flight.
   */
  silence(): void {
    this.silenced = true;
    this.clearTimers();
  }

  /**
   * Waits for the save in flight, then saves once more at once (whatever an interval still held back) and stops
   * retrying: the last word before the session stops.
   */
  async close(): Promise<void> {
    this.closed = true;
    this.clearTimers();
    while (this.saving) await this.saving;
    this.dirty = false;
    if (!this.silenced) await this.saveOnce();
  }

  /**
   * Starts the save if one may start now (or `due`: the trailing timer fired); otherwise makes sure the trailing
   * timer or the save in flight picks it up.
   */
  private plan(due = false): void {
    if (!this.dirty || this.saving || this.silenced || this.closed) return;
    const now = performance.now();
    if (due || now >= this.lastStartedAt + this.intervalMs) {
      this.start();
      return;
    }
    if (this.trailingTimer) return;
    // the move came after the last save started, so this is also at least an interval after that start
    const dueInMs = Math.max(0, this.dirtySince + this.intervalMs - now);
    this.trailingTimer = setTimeout(() => {
      this.trailingTimer = undefined;
      this.plan(true);
    }, dueInMs);
    this.trailingTimer.unref();
  }

  private start(): void {
    this.clearTrailing();
    this.dirty = false;
    this.lastStartedAt = performance.now();
    this.saving = this.saveOnce().finally(() => {
      this.saving = undefined;
      this.plan();
    });
  }

  private async saveOnce(): Promise<void> {
    const session = this.options.current();
    try {
      if (session) await this.options.store.save(this.options.shardId, session);
    } catch (err) {
      this.failed(describeError(err), session?.seq);
      return;
    }
    if (this.lastFailed) this.log.info({ seq: session?.seq }, 'session seq saved again');
    this.lastFailed = false;
  }

  private failed(error: string, seq: number | undefined): void {
    const retryInMs = this.options.retryDelayMs ?? DEFAULT_SAVE_RETRY_DELAY_MS;
    const fields = { err: error, seq, retryInMs };
    // warn once per episode, then debug: a Redis outage must not become one warning per retry
    if (this.lastFailed) this.log.debug(fields, 'could not save the session seq');
    else {
      this.log.warn(
        fields,
        'could not save the session seq (a restart would resume from an older one); retrying — check Redis',
      );
    }
    this.lastFailed = true;
    this.options.onFailure?.(error);
    if (this.closed || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.schedule();
    }, retryInMs);
    this.retryTimer.unref();
  }

  private clearTimers(): void {
    this.clearTrailing();
    this.clearRetry();
  }

  private clearTrailing(): void {
    if (this.trailingTimer) clearTimeout(this.trailingTimer);
    this.trailingTimer = undefined;
  }

  private clearRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }
}
