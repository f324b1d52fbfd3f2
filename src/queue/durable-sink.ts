/**
 * What the gateway's `onDispatch` calls: makes each event durable in Redis when it can, in the local journal when
 * it cannot, and moves the journal into Redis, in order, when Redis returns (docs/design.md §5).
 */
import { BridgeError, describeError } from '../errors.js';
import { normalize, type NormalizedEvent } from '../events/normalize.js';
import type { Logger } from '../log.js';
import { withTimeout } from '../util/with-timeout.js';
import { DRAIN_BATCH_ENTRIES, type Journal, type JournalEntry } from './journal.js';
import type { DeliveryProducer } from './producer.js';

export type SinkMode = 'direct' | 'journaling';

export interface DurableSinkOptions {
  journal: Journal;
  /** Makes entries durable in Redis, all or none; must be idempotent (the same entry may be enqueued twice). */
  enqueue: (entries: readonly JournalEntry[]) => Promise<void>;
  /** When it returns false, events go to the journal without trying Redis, and drain attempts are skipped. */
  isRedisReady?: () => boolean;
  logger: Logger;
  /** Pause between drain attempts while Redis is failing; default 1000 ms. */
  retryIntervalMs?: number;
  /**
   * Longest wait for one `enqueue` before the event goes to the journal instead; default 2000 ms. An enqueue that
   * times out and later succeeds is harmless: the journaled copy is deduplicated when it is drained.
   */
  enqueueTimeoutMs?: number;
}

/**
 * Routes each accepted event either straight to Redis (`direct`) or to the journal (`journaling`). While the
 * journal holds anything, or a drain runs, new events are appended behind what it holds, so they reach Redis in
 * the order they were accepted. One drain loop runs at a time and switches back to `direct` once the journal is
 * empty. Once Redis works again and the journal is down to its last batch, new events wait for the drain instead
 * of being appended: under a steady stream there is otherwise always an event arriving while the drain finishes,
 * and the sink would stay in `journaling` as long as the stream lasts.
 */
export class DurableSink {
  private readonly retryIntervalMs: number;
  private readonly enqueueTimeoutMs: number;
  private readonly log: Logger;
  /** Appends in flight: they count as journal content for routing, or a new event could overtake them. */
  private appending = 0;
  private drainRun: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Set by stop(): no drain is scheduled, and a running one stops before its next batch. */
  private stopped = false;
  /**
   * True after an enqueue failed or Redis was found not ready, until a drain completes: drain attempts then wait
   * `retryIntervalMs`.
   */
  private redisFailing = false;
  /** Accepts waiting for the running drain to finish, to enqueue directly behind it; see {@link accept}. */
  private handoff: ((direct: boolean) => void)[] = [];
  /** Start of the current journaling episode and what its drains moved, for the "drained" log line. */
  private episode: { since: number; drained: number } | undefined;

  constructor(private readonly options: DurableSinkOptions) {
    this.retryIntervalMs = options.retryIntervalMs ?? 1000;
    this.enqueueTimeoutMs = options.enqueueTimeoutMs ?? 2000;
    this.log = options.logger;
  }

  /** `journaling` while the journal holds events, an append is in flight or a drain runs (`/readyz`: degraded). */
  mode(): SinkMode {
    return this.options.journal.entries > 0 || this.appending > 0 || this.drainRun !== undefined
      ? 'journaling'
      : 'direct';
  }

  /** Events waiting in the journal. */
  depth(): number {
    return this.options.journal.entries;
  }

  /**
   * Resolves once the entries are durable: acknowledged by Redis, or fsynced in the journal. Rejects only when the
   * journal refuses them (full, or a disk error); the gateway then resumes later and QQ replays the events.
   */
  accept(entries: readonly JournalEntry[]): Promise<void> {
    if (entries.length === 0) return Promise.resolve();
    if (this.mode() === 'journaling')
      return this.catchingUp() ? this.behindDrain(entries) : this.spill(entries);
    if (this.options.isRedisReady?.() === false) {
      return this.spill(entries, new BridgeError('BRIDGE_ERR_REDIS', 'redis connection is not ready'));
    }
    return this.enqueueBounded(entries).catch((err: unknown) => this.spill(entries, err));
  }

  /**
   * Starts draining a journal a previous process left (killed during an outage). Does not wait for the drain:
   * events accepted meanwhile queue behind the old ones, and the gateway need not wait minutes to connect.
   */
  start(): void {
    this.stopped = false;
    if (this.options.journal.entries === 0) return;
    this.beginEpisode();
    this.log.info({ events: this.options.journal.entries }, 'draining the journal left by a previous run');
    this.runDrain();
  }

  /** Stops the drain loop and waits for a running drain to stop after its current batch. Loses nothing. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.drainRun;
    this.releaseHandoff(false);
  }

  /** A drain runs, Redis works and the journal holds at most one batch: the drain is about to finish. */
  private catchingUp(): boolean {
    return (
      this.drainRun !== undefined &&
      !this.redisFailing &&
      !this.stopped &&
      this.options.journal.entries <= DRAIN_BATCH_ENTRIES
    );
  }

  /**
   * Waits, at most `enqueueTimeoutMs`, for the drain to finish; then enqueues directly if the sink is `direct`
   * again, and journals the entries otherwise (the drain failed, or the sink is stopping). Nothing is appended
   * meanwhile, so the drain's last pass is short.
   */
  private async behindDrain(entries: readonly JournalEntry[]): Promise<void> {
    const released = new Promise<boolean>((resolve) => this.handoff.push(resolve));
    const direct = await withTimeout(released, this.enqueueTimeoutMs, () => false);
    if (!direct || this.mode() === 'journaling') return this.spill(entries);
    return this.enqueueBounded(entries).catch((err: unknown) => this.spill(entries, err));
  }

  /** Lets the waiting accepts go on, in the order they came; `direct` false sends them to the journal. */
  private releaseHandoff(direct: boolean): void {
    for (const release of this.handoff.splice(0)) release(direct);
  }

  private async enqueueBounded(entries: readonly JournalEntry[]): Promise<void> {
    await withTimeout(this.options.enqueue(entries), this.enqueueTimeoutMs, () => {
      throw new BridgeError('BRIDGE_ERR_REDIS', `enqueue did not finish within ${this.enqueueTimeoutMs} ms`);
    });
  }

  private async spill(entries: readonly JournalEntry[], cause?: unknown): Promise<void> {
    if (cause !== undefined) this.markRedisFailing(cause);
    this.beginEpisode();
    this.appending += 1;
    try {
      await this.options.journal.append(entries);
    } catch (err) {
      this.log.error(
        { err: describeError(err), depth: this.depth() },
        'could not journal an event; the gateway will resume and receive it again',
      );
      throw err;
    } finally {
      this.appending -= 1;
      this.scheduleDrain();
    }
  }

  /** From now until a drain completes, drain attempts wait `retryIntervalMs`; says so once per outage. */
  private markRedisFailing(cause: unknown): void {
    if (this.redisFailing) return;
    this.redisFailing = true;
    this.log.warn(
      { err: describeError(cause) },
      'cannot enqueue to redis; journaling events until it returns',
    );
  }

  private beginEpisode(): void {
    this.episode ??= { since: Date.now(), drained: 0 };
  }

  private scheduleDrain(): void {
    if (this.stopped || this.timer || this.drainRun || this.mode() === 'direct') return;
    // Right after a failure Redis needs time; appends racing the end of a successful drain go at once.
    const delayMs = this.redisFailing ? this.retryIntervalMs : 0;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.runDrain();
    }, delayMs);
    this.timer.unref();
  }

  private runDrain(): void {
    if (this.drainRun || this.stopped) return;
    this.drainRun = this.drainOnce()
      .catch((err: unknown) => {
        this.redisFailing = true;
        this.log.error({ err: describeError(err) }, 'journal drain failed; retrying');
      })
      .finally(() => {
        this.drainRun = undefined;
        this.afterDrain();
      });
  }

  private async drainOnce(): Promise<void> {
    const { journal, isRedisReady } = this.options;
    if (isRedisReady?.() === false) {
      // Still down: skip the attempt (a failing enqueue would only add noise), and wait the retry interval before
      // the next one rather than polling at once.
      this.markRedisFailing(new BridgeError('BRIDGE_ERR_REDIS', 'redis connection is not ready'));
      return;
    }
    let failure: unknown;
    // One enqueue per batch: the journal drains at the speed of the direct path, so a backlog shrinks even while
    // events keep arriving faster than one per Redis round trip.
    const handled = await journal.drain(async (entries) => {
      try {
        if (this.stopped) throw new BridgeError('BRIDGE_ERR_ABORTED', 'the sink is stopping');
        await this.enqueueBounded(entries);
      } catch (err) {
        failure = err;
        throw err;
      }
    });
    if (this.episode) this.episode.drained += handled;
    if (failure === undefined) this.redisFailing = false;
    else if (!this.stopped) {
      this.redisFailing = true;
      this.log.debug(
        { err: describeError(failure), handled, depth: journal.entries },
        'journal drain paused; redis still failing',
      );
    }
  }

  private afterDrain(): void {
    if (this.mode() === 'journaling') {
      this.releaseHandoff(false);
      this.scheduleDrain();
      return;
    }
    this.releaseHandoff(true);
    if (this.episode) {
      const { since, drained } = this.episode;
      this.log.info(
        { drained, durationMs: Date.now() - since },
        'journal drained; enqueueing to redis directly again',
      );
      this.episode = undefined;
    }
  }
}

/**
 * The `enqueue` a gateway gives its sink: runs the one normalizer over the stored frame (with the original receive
 * time) and fans the event out through the producer.
 */
export function enqueueEntryWith(
  producer: Pick<DeliveryProducer, 'enqueueMany'>,
  appId: string,
  logger?: Logger,
  onEnqueued?: (event: NormalizedEvent, targets: readonly string[]) => void,
): (entries: readonly JournalEntry[]) => Promise<void> {
  return async (entries) => {
    const items = entries.map((entry) => ({
      event: normalize(entry.frame, { appId, shard: entry.shard, receivedAt: new Date(entry.receivedAt) }),
      rawFrame: entry.frame,
    }));
    const targets = await producer.enqueueMany(items);
    items.forEach(({ event }, index) => {
      const eventTargets = targets[index] ?? [];
      onEnqueued?.(event, eventTargets);
      logger?.debug(
        {
          eventId: event.envelope.id,
          type: event.envelope.type,
          seq: event.envelope.seq,
          targets: eventTargets,
        },
        'event enqueued',
      );
    });
  };
}
