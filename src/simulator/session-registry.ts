import { Session } from './session-log.js';

/** An event emitted for a shard that has no session yet; dispatched right after that shard's next READY. */
export interface PendingEvent {
  t: string;
  id: string;
  d: unknown;
}

/** One session as `state()` reports it. */
export interface SessionSummary {
  session_id: string;
  shard: [number, number];
  seq: number;
  connected: boolean;
  resumes: number;
  discarded: boolean;
}

/**
 * All sessions, plus the events waiting for a shard's first session. At most one live session per shard id: that
 * is the session `emit` targets, so a new Identify for a shard discards the shard's previous session.
 */
export class SessionRegistry {
  /** Live and discarded sessions, in creation order; discarded ones stay for `state()` but without their log. */
  readonly #all: Session[] = [];
  readonly #liveById = new Map<string, Session>();
  readonly #liveByShardId = new Map<number, Session>();
  readonly #pendingByShardId = new Map<number, PendingEvent[]>();

  /** A new session for `shard`; the caller must have retired the shard's previous session first. */
  create(shard: readonly [number, number]): Session {
    const session = new Session(shard);
    this.#all.push(session);
    this.#liveById.set(session.id, session);
    this.#liveByShardId.set(shard[0], session);
    return session;
  }

  /** A live (resumable) session by id. */
  get(sessionId: string): Session | undefined {
    return this.#liveById.get(sessionId);
  }

  /** The shard id of any session this simulator created, live or discarded. */
  shardOf(sessionId: string): number | undefined {
    return this.#all.find((session) => session.id === sessionId)?.shard[0];
  }

  /** Every live (resumable) session, as a copy that may be modified while iterating. */
  live(): Session[] {
    return [...this.#liveById.values()];
  }

  /** The live session of shard id `shardId`. */
  forShard(shardId: number): Session | undefined {
    return this.#liveByShardId.get(shardId);
  }

  discard(session: Session): void {
    session.discard();
    this.#liveById.delete(session.id);
    if (this.#liveByShardId.get(session.shard[0]) === session) this.#liveByShardId.delete(session.shard[0]);
  }

  /** Queues an event for shard `shardId`'s next READY; returns how many events now wait for that shard. */
  buffer(shardId: number, event: PendingEvent): number {
    const queue = this.#pendingByShardId.get(shardId) ?? [];
    queue.push(event);
    this.#pendingByShardId.set(shardId, queue);
    return queue.length;
  }

  /** Removes and returns the events waiting for shard `shardId`, oldest first. */
  takePending(shardId: number): PendingEvent[] {
    const queue = this.#pendingByShardId.get(shardId) ?? [];
    this.#pendingByShardId.delete(shardId);
    return queue;
  }

  pendingCount(): number {
    let count = 0;
    for (const queue of this.#pendingByShardId.values()) count += queue.length;
    return count;
  }

  summaries(): SessionSummary[] {
    return this.#all.map((session) => ({
      session_id: session.id,
      shard: [session.shard[0], session.shard[1]],
      seq: session.seq,
      connected: session.socket !== undefined,
      resumes: session.resumes,
      discarded: session.discarded,
    }));
  }
}
