import type { PersistedSession } from './session-store.js';

/** The durable seq as the record reads it: the pump's (durable-pump.ts), which owns it. */
export interface DurableSeqSource {
  readonly durableSeq: number | null;
  restore(seq: number): void;
  newGeneration(): void;
}

/**
 * The session a shard holds, whichever connection carries it: its id, when its READY came, and the newest seq
 * received (sent in heartbeats). The durable seq, the one persisted and sent in Resume, is the pump's; the
 * record reads it so the store and a Resume always see the two together.
 */
export class SessionRecord {
  sessionId: string | undefined;
  /** Epoch ms of the READY that created the current session id; undefined when unknown. */
  startedAt: number | undefined;
  receivedSeq: number | null = null;

  constructor(private readonly durable: DurableSeqSource) {}

  get durableSeq(): number | null {
    return this.durable.durableSeq;
  }

  /** A session persisted by an earlier run (or an earlier holder of the shard), to RESUME. */
  restore(persisted: PersistedSession): void {
    this.sessionId = persisted.sessionId;
    this.startedAt = persisted.startedAt;
    this.durable.restore(persisted.seq);
    this.receivedSeq = persisted.seq;
  }

  /** A READY named a new session. */
  ready(sessionId: string, now: number): void {
    this.sessionId = sessionId;
    this.startedAt = now;
  }

  /** What the store keeps, once both the id and a durable seq are known. */
  persistable(): PersistedSession | undefined {
    const seq = this.durable.durableSeq;
    if (this.sessionId === undefined || seq === null) return undefined;
    const startedAt = this.startedAt;
    return { sessionId: this.sessionId, seq, ...(startedAt !== undefined ? { startedAt } : {}) };
  }

  /** The session is given up: a new one will be identified, and its seqs start over. */
  drop(): void {
    this.durable.newGeneration();
    this.sessionId = undefined;
    this.startedAt = undefined;
    this.receivedSeq = null;
  }
}
