/**
 * The gateway side of the outbound hold: tells Redis, for each shard this process runs, whether it is READY, so
 * that an outbound worker on any machine sends only while the bot has a live session (docs/qq-protocol.md §7.1,
 * §9 item 9). A READY shard is written with a freshness of `leaseTtlMs`, at most {@link MAX_READY_FRESHNESS_MS},
 * and rewritten every third of it; a process that dies simply stops rewriting, and its shards stop counting as
 * READY within that freshness. Nothing outside a process killed with -9 sees its sockets close, so that freshness
 * is the longest a dead gateway can be taken for READY (and QQ drop what is sent meanwhile): it is kept short.
 */
import { describeError } from '../errors.js';
import type { ShardStatus } from '../gateway/session.js';
import type { Logger } from '../log.js';
import { HEALTHY_SHARD_STATUSES } from '../server/readiness.js';
import type { GatewayReadiness } from './gateway-ready.js';

/** The longest one READY mark counts, whatever the lease TTL: bounds how long a killed gateway looks READY. */
export const MAX_READY_FRESHNESS_MS = 3_000;

/** Options of {@link ReadinessWriter}. */
export interface ReadinessWriterOptions {
  readonly readiness: Pick<GatewayReadiness, 'mark'>;
  /** `gateway.lease_ttl`, ms: how long one READY mark counts, capped at {@link MAX_READY_FRESHNESS_MS}. */
  readonly leaseTtlMs: number;
  readonly logger: Logger;
}

interface ShardState {
  readonly shard: readonly [number, number];
  /** What was last asked to be written; undefined before the first status. */
  ready: boolean | undefined;
  refresh: NodeJS.Timeout | undefined;
}

/** Mirrors shard statuses (READY / RESUMED or not) into the bot's gateway-readiness hash. */
export class ReadinessWriter {
  readonly #shards = new Map<string, ShardState>();
  readonly #log: Logger;
  /** Writes go out one after another, so a slow READY mark can never land after the not-ready that followed it. */
  #writes: Promise<void> = Promise.resolve();
  #lastError = '';
  #stopped = false;

  readonly #freshMs: number;

  constructor(private readonly options: ReadinessWriterOptions) {
    this.#log = options.logger.child({ component: 'gateway-readiness' });
    this.#freshMs = Math.min(options.leaseTtlMs, MAX_READY_FRESHNESS_MS);
  }

  /**
   * Records a status change of shard `[id, total]`: READY and RESUMED mark it ready (and keep refreshing the
   * mark), every other status marks it not ready. Repeats of the same readiness write nothing.
   */
  onStatus(shard: readonly [number, number], status: ShardStatus): void {
    if (this.#stopped) return;
    const key = `${shard[0]}/${shard[1]}`;
    let state = this.#shards.get(key);
    if (!state) {
      state = { shard, ready: undefined, refresh: undefined };
      this.#shards.set(key, state);
    }
    const ready = HEALTHY_SHARD_STATUSES.has(status);
    if (state.ready === ready) return;
    state.ready = ready;
    this.#clearRefresh(state);
    this.#write(state.shard, ready);
    if (ready) {
      const current = state;
      current.refresh = setInterval(
        () => this.#write(current.shard, true),
        Math.max(1, Math.floor(this.#freshMs / 3)),
      );
      current.refresh.unref();
    }
  }

  /**
   * Stops refreshing, marks not ready any shard still marked ready (its session normally said `stopped` already),
   * and waits for the writes under way. Never rejects; later statuses are ignored.
   */
  async stop(): Promise<void> {
    if (this.#stopped) return this.#writes;
    this.#stopped = true;
    for (const state of this.#shards.values()) {
      this.#clearRefresh(state);
      if (state.ready === true) {
        state.ready = false;
        this.#write(state.shard, false);
      }
    }
    return this.#writes;
  }

  #clearRefresh(state: ShardState): void {
    if (state.refresh) clearInterval(state.refresh);
    state.refresh = undefined;
  }

  #write(shard: readonly [number, number], ready: boolean): void {
    this.#writes = this.#writes
      .then(() => this.options.readiness.mark(shard, ready, this.#freshMs))
      .then(
        () => {
          if (this.#lastError !== '') this.#log.info('gateway readiness written to Redis again');
          this.#lastError = '';
        },
        (err: unknown) => {
          const message = describeError(err);
          // One line per distinct error, not one per refresh while Redis is away.
          if (message !== this.#lastError) {
            this.#log.warn(
              { shard: [...shard], ready, err: message },
              'could not write the gateway readiness to Redis; outbound workers go by the previous mark until ' +
                'it expires (gateway.lease_ttl), then hold messages — check the Redis connection',
            );
          }
          this.#lastError = message;
        },
      );
  }
}
