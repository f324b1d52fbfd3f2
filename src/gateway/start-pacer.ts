import { sleep } from '../util/abortable.js';

/**
 * Serializes session starts with the plan's spacing (`5 s / max_concurrency`, docs/qq-protocol.md §2.2), whichever
 * shard asks when: a lease acquired in a later round, a rotation's successor. Nothing starts once `signal` aborts.
 */
export class StartPacer {
  /** The least time between two starts; set once the gateway is discovered and the shards are planned. */
  intervalMs = 0;
  private nextStartAt = 0;
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly signal: AbortSignal) {}

  /** Runs `start` after every start queued before it, and no sooner than the spacing after the last one began. */
  pace(start: () => Promise<void>): Promise<void> {
    const run = this.queue.then(async () => {
      const waitMs = this.nextStartAt - Date.now();
      if (waitMs > 0) await sleep(waitMs, this.signal);
      if (this.signal.aborted) return;
      this.nextStartAt = Date.now() + this.intervalMs;
      await start();
    });
    this.queue = run.catch(() => undefined);
    return run;
  }
}
