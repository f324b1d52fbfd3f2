import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { PersistedSession, SessionStore } from './session-store.js';

/** See {@link SessionSaverOptions.retryDelayMs}. */
export const DEFAULT_SAVE_RETRY_DELAY_MS = 5_000;

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
}

/**
 * Saves a shard's resume state off the dispatch path: at most one save in flight, and a newer seq that arrives
 * meanwhile is saved right after it, so saves that pile up behind a slow one coalesce.
 *
 * A save that fails (Redis away, a refused lease fence) is not worth ending the session for: the dispatches are
 * already durable, and a persisted seq that lags only means QQ replays a few events after a restart, which dedupe
 * absorbs. It is counted and reported through {@link SessionSaver.failing} instead, because a process that cannot
 * save at all would, after a restart, resume from an old seq or not at all.
 */
export class SessionSaver {
  private saving: Promise<void> | undefined;
  private again = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private lastFailed = false;
  private closed = false;
  /** No more saves at all: a successor session owns the stored state (see {@link SessionSaver.silence}). */
  private silenced = false;
  private readonly log: Logger;

  constructor(private readonly options: SessionSaverOptions) {
    this.log = options.logger;
  }

  /** Whether the last save failed; the next one that succeeds clears it. */
  get failing(): boolean {
    return this.lastFailed;
  }

  /** Saves the current state soon. */
  schedule(): void {
    if (this.silenced) return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    if (this.saving) {
      this.again = true;
      return;
    }
    this.saving = (async () => {
      do {
        this.again = false;
        await this.saveOnce();
      } while (this.again);
    })().finally(() => {
      this.saving = undefined;
    });
  }

  /**
   * Starts no save from now on (a save in flight still lands): the session stops without persisting, because a
   * successor session owns the stored state. close() then only waits for the save in flight.
   */
  silence(): void {
    this.silenced = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  /** Waits for the saves in flight, saves once more and stops retrying: the last word before the session stops. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    while (this.saving) await this.saving;
    if (!this.silenced) await this.saveOnce();
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
}
