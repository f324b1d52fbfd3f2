import type { Logger } from '../log.js';
import type { PersistedSession, SessionStore } from './session-store.js';

/** One session's access to the shard's stored state; see {@link StoreHandover}. */
export interface StoreView extends SessionStore {
  /** `owner` while its writes reach the store, `waiting` while they are held, `revoked` once they are dropped. */
  readonly state: 'owner' | 'waiting' | 'revoked';
}

/**
 * Hands a shard's stored session (id + seq) from one GatewaySession to its successor, so that the two never both
 * write it: the old session must never write after the new one's first write.
 *
 * Each session writes through its own view. The first view owns the store. A later view's writes wait (a
 * SessionSaver coalesces them meanwhile) until {@link promote} makes it the owner, which first revokes the previous
 * owner — its later writes are dropped — and waits for the writes it already had in flight. A view that is revoked
 * without becoming the owner (a successor that failed) drops what it held. Loads are never held: a fresh successor
 * does not load, and a view may read what the owner wrote.
 */
export class StoreHandover {
  private owner: ViewImpl | undefined;
  private readonly log: Logger;

  constructor(
    private readonly store: SessionStore,
    logger: Logger,
  ) {
    this.log = logger;
  }

  /** A new view: the owner if there is none yet, else waiting for {@link promote}. */
  view(): StoreView {
    const view = new ViewImpl(this.store, this.owner ? 'waiting' : 'owner', this.log);
    this.owner ??= view;
    return view;
  }

  /** Makes `view` the owner once the previous owner's writes in flight are done; the previous one is revoked. */
  async promote(view: StoreView): Promise<void> {
    const next = view as ViewImpl;
    const previous = this.owner;
    if (previous === next) return;
    this.owner = next;
    if (previous) await previous.revoke();
    next.own();
  }

  /** Drops `view`'s held and future writes (a successor that did not take over). Never the owner's. */
  async revoke(view: StoreView): Promise<void> {
    const target = view as ViewImpl;
    if (target === this.owner) return;
    await target.revoke();
  }
}

type Write = () => Promise<void>;

class ViewImpl implements StoreView {
  private inFlight = new Set<Promise<void>>();
  private held: { write: Write; resolve: () => void; reject: (err: unknown) => void }[] = [];

  constructor(
    private readonly store: SessionStore,
    public state: 'owner' | 'waiting' | 'revoked',
    private readonly log: Logger,
  ) {}

  load(shardId: number): Promise<PersistedSession | undefined> {
    return this.store.load(shardId);
  }

  save(shardId: number, session: PersistedSession): Promise<void> {
    return this.write(() => this.store.save(shardId, session), 'save');
  }

  clear(shardId: number): Promise<void> {
    return this.write(() => this.store.clear(shardId), 'clear');
  }

  own(): void {
    if (this.state !== 'waiting') return;
    this.state = 'owner';
    for (const { write, resolve, reject } of this.held.splice(0)) this.run(write).then(resolve, reject);
  }

  async revoke(): Promise<void> {
    this.state = 'revoked';
    for (const { resolve } of this.held.splice(0)) resolve();
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private write(write: Write, what: string): Promise<void> {
    if (this.state === 'owner') return this.run(write);
    if (this.state === 'revoked') {
      // Not a failure: a session that handed the shard on (or never took it over) has nothing left to store.
      this.log.debug({ what }, 'dropped a session-state write of a session that no longer owns the shard');
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => this.held.push({ write, resolve, reject }));
  }

  private run(write: Write): Promise<void> {
    const running = write();
    const tracked = running.then(
      () => undefined,
      () => undefined,
    );
    this.inFlight.add(tracked);
    void tracked.finally(() => this.inFlight.delete(tracked));
    return running;
  }
}
