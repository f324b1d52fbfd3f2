import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { replicaIdOf, type ShardLease } from './lease.js';
import type { ShardSession } from './shard-session.js';

export interface LeasedShardOptions {
  lease: ShardLease;
  /** The lease TTL, in ms. */
  ttlMs: number;
  /** Builds (does not start) the session for a holding term; `leaseValue` fences its state writes. */
  createSession: (leaseValue: string) => ShardSession;
  /** Runs `start` when the manager's start pacing allows (QQ's `max_concurrency`); skips it once stopping. */
  pace: (start: () => Promise<void>) => Promise<void>;
  logger: Logger;
  /**
   * Told when the lease was taken by another live process of this replica id (`holder`, its owner): two processes
   * share one `gateway.replica_id`, and each would take the other's leases back forever unless they stop.
   */
  onLostToTwin?: (holder: string) => void;
}

/**
 * How much of the TTL a holder may go without a confirmed renewal before it presumes the lease lost. Renewals run
 * every TTL/3, so two in a row may fail; the last quarter is left for stopping the session before the key can
 * expire and a peer acquire it.
 */
const GUARD_FRACTION = 0.75;

/**
 * One planned shard on a gateway replica: stands by until it acquires the shard's lease, then runs the shard's
 * session while renewing, and stops the session as soon as another replica is known to hold the lease.
 *
 * A renewal that cannot reach Redis proves nothing either way. Stopping the session then would break the promise
 * that a Redis outage leaves the gateway session alone (events go to the journal meanwhile), so the holder keeps
 * its open socket but stops *re*-connecting once a guard timer, armed from when the last good renewal was sent,
 * says the lease may have expired. That is enough to keep two replicas off one session: QQ allows one socket per
 * session, so a peer that acquires the expired lease and RESUMEs takes the socket away, and this holder cannot
 * resume it back without confirming the lease first. Session-state writes are fenced in Redis besides, so a
 * paused holder never overwrites the new holder's seq; events it journaled meanwhile are deduplicated by id.
 */
export class LeasedShard {
  private session: ShardSession | undefined;
  private guard: NodeJS.Timeout | undefined;
  /** A session being stopped after a loss; the lease is not tried again until it is down. */
  private stopping: Promise<void> | undefined;
  private stopped = false;
  /** The guard fired while Redis was unreachable: keep the open socket, but do not reconnect. */
  private unconfirmed = false;
  /** Redis failures are logged at warn once per episode, then at debug, so an outage is not a log flood. */
  private failing = false;
  /** The lease value (`<owner>:<token>`) of the current holding term; undefined while standing by. */
  private term: string | undefined;
  private readonly log: Logger;
  private pendingStart: Promise<void> = Promise.resolve();

  constructor(
    readonly shardId: number,
    private readonly options: LeasedShardOptions,
  ) {
    this.log = options.logger.child({ component: 'lease', shardId });
  }

  /** The held lease's fencing token, if this replica holds the shard. */
  get token(): number | undefined {
    return this.term === undefined ? undefined : this.options.lease.token;
  }

  /** Resolves once the session start requested by the last acquisition has run (or was skipped). */
  get starting(): Promise<void> {
    return this.pendingStart;
  }

  /** The running session, if this replica holds the shard and started it. */
  get current(): ShardSession | undefined {
    return this.session;
  }

  /** One lease-loop step: renew a held lease, else try to acquire it. Never rejects. */
  async tick(): Promise<void> {
    if (this.stopped || this.stopping) return;
    const term = this.term;
    const sentAt = Date.now();
    try {
      if (term !== undefined) {
        const renewed = await this.options.lease.renew();
        if (this.term !== term) return; // lost while the renewal was in flight; lose() handled it
        if (renewed) this.confirmed(sentAt);
        else this.lostRenewal();
      } else {
        const result = await this.options.lease.acquire();
        if (result.kind === 'reclaimed') {
          this.log.info(
            { token: result.token, previous: result.previous },
            "took back the lease of this replica's earlier run (same gateway.replica_id, crashed or killed) " +
              'without waiting for it to expire; resuming its session',
          );
        }
        if (result.kind !== 'held') this.acquired(result.token, sentAt);
      }
      if (this.failing) this.log.info('lease storage reachable again');
      this.failing = false;
    } catch (err) {
      const fields = { err: describeError(err), held: this.term !== undefined };
      if (this.failing) this.log.debug(fields, 'lease renewal or acquisition failed');
      else this.log.warn(fields, 'lease renewal or acquisition failed; retrying');
      this.failing = true;
    }
  }

  /**
   * Checked before each gateway connection: a holder that lost the lease must not RESUME the session again (it would
   * take the socket from the new holder). Unreachable Redis proves nothing either way, so the guard decides then.
   */
  async confirm(): Promise<boolean> {
    const term = this.term;
    if (term === undefined || this.stopped) return false;
    const sentAt = Date.now();
    try {
      const renewed = await this.options.lease.renew();
      if (this.term !== term) return false;
      if (renewed) this.confirmed(sentAt);
      else this.lostRenewal();
      return renewed;
    } catch {
      return !this.unconfirmed;
    }
  }

  /**
   * A fenced write under `leaseValue` found another holder's value: that term is over, whatever the renewals said.
   * A refusal for an earlier term (a session still stopping) does not touch the current one.
   */
  fenceRefused(leaseValue: string): void {
    if (leaseValue === this.term) this.lose('a session write was refused by the lease fence');
  }

  /**
   * Stops the session (it persists under the lease, which is still ours), then releases the lease so a peer can
   * take over at once instead of waiting out the TTL.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.clearGuard();
    await this.pendingStart;
    await this.stopping;
    const session = this.session;
    this.session = undefined;
    await session?.stop();
    if (this.term === undefined) return;
    this.term = undefined;
    await this.options.lease.release().catch((err: unknown) => {
      this.log.warn({ err: describeError(err) }, 'could not release the lease; it expires after its TTL');
    });
  }

  /**
   * Gives the shard to a peer while this replica keeps running (it holds more than its share): stops the session,
   * which persists its session id and seq under our lease, then releases the lease so a peer acquires it at once and
   * RESUMEs. Stays ready to acquire the shard again later.
   */
  handOff(): Promise<void> {
    if (this.term === undefined || this.stopped || this.stopping) return Promise.resolve();
    this.term = undefined;
    this.unconfirmed = false;
    this.clearGuard();
    const session = this.session;
    this.session = undefined;
    this.log.info('handing the shard to a replica with fewer shards; its session stops and is resumed there');
    // GatewaySession.stop() closes with 4000, never 1000: a normal closure may make QQ end the session, and the peer
    // must be able to RESUME it (docs/qq-protocol.md §3.7, §3.10). A closed socket is also what lets the peer's
    // RESUME be the only connection on the session.
    this.stopping = (async () => {
      await session?.stop();
      if (!(await this.options.lease.release())) {
        this.log.warn('the lease was no longer ours when handing the shard off; a peer already holds it');
      }
    })()
      .catch((err: unknown) => {
        this.options.lease.forget();
        this.log.warn({ err: describeError(err) }, 'hand-off incomplete; the lease expires after its TTL');
      })
      .finally(() => {
        this.stopping = undefined;
      });
    return this.stopping;
  }

  /** A renewal was refused: someone else holds the lease. */
  private lostRenewal(): void {
    const holder = this.options.lease.lastHolder;
    const owner = this.options.lease.owner;
    if (holder !== undefined && holder !== owner && replicaIdOf(holder) === replicaIdOf(owner)) {
      this.log.error(
        { holder, owner },
        'the shard lease was taken by another live process with the same gateway.replica_id; replica_id must be ' +
          'unique per process: give each gateway process its own gateway.replica_id (or journal.dir, which the ' +
          'default is derived from). This process stops taking leases back from it',
      );
      this.options.onLostToTwin?.(holder);
    }
    this.lose('another replica holds the lease');
  }

  private acquired(token: number, sentAt: number): void {
    if (this.stopped) {
      // stop() ran while the acquisition was in flight; hand the lease straight back.
      void this.options.lease.release().catch(() => undefined);
      return;
    }
    this.term = this.options.lease.value;
    this.confirmed(sentAt);
    this.log.info({ token }, 'acquired the shard lease; starting its session');
    this.pendingStart = this.options.pace(() => this.startSession());
  }

  private async startSession(): Promise<void> {
    const term = this.term;
    if (this.stopped || this.stopping || term === undefined) return;
    const session = this.options.createSession(term);
    this.session = session;
    try {
      await session.start();
    } catch (err) {
      // Usually Redis failing on the load. Standing by retries it: the next tick re-adopts our own lease, or a
      // peer takes the shard once it expires.
      this.log.warn({ err: describeError(err) }, 'could not start the session; standing by to retry');
      this.lose('session start failed');
    }
  }

  /** Arms the guard to fire before the lease, renewed at `sentAt` at the latest, can expire. */
  private confirmed(sentAt: number): void {
    this.clearGuard();
    if (this.unconfirmed) this.log.info('lease confirmed again');
    this.unconfirmed = false;
    const delayMs = Math.max(0, sentAt + this.options.ttlMs * GUARD_FRACTION - Date.now());
    this.guard = setTimeout(() => {
      this.guard = undefined;
      this.unconfirmed = true;
      this.log.warn(
        'lease not renewed in time (Redis unreachable?); keeping the open session but not reconnecting',
      );
    }, delayMs);
    this.guard.unref();
  }

  private lose(reason: string): void {
    if (this.term === undefined) return;
    this.term = undefined;
    this.unconfirmed = false;
    this.clearGuard();
    this.options.lease.forget();
    const session = this.session;
    this.session = undefined;
    this.log.warn({ reason, running: session !== undefined }, 'lost the shard lease; standing by');
    if (!session) return;
    // The session's own fence stops any write over the new holder; stopping closes the socket so this process no
    // longer reads the shard's events or resumes its session.
    this.stopping = session
      .stop()
      .catch((err: unknown) => this.log.warn({ err: describeError(err) }, 'session stop failed'))
      .finally(() => {
        this.stopping = undefined;
      });
  }

  private clearGuard(): void {
    if (this.guard) clearTimeout(this.guard);
    this.guard = undefined;
  }
}
