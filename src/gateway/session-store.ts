import type { Redis } from 'ioredis';
import { sessionKey } from '../queue/names.js';

/** What a shard needs to RESUME: QQ's session id and the last sequence whose events are durably enqueued. */
export interface PersistedSession {
  sessionId: string;
  seq: number;
}

/** Where resume state lives; injected so the session itself never knows about Redis. */
export interface SessionStore {
  load(shardId: number): Promise<PersistedSession | undefined>;
  save(shardId: number, session: PersistedSession): Promise<void>;
  clear(shardId: number): Promise<void>;
}

/** Sessions older than this are not worth resuming: QQ will refuse and the bridge would lose a round trip. */
const SESSION_TTL_SEC = 24 * 3600;

export class RedisSessionStore implements SessionStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly appId: string,
  ) {}

  async load(shardId: number): Promise<PersistedSession | undefined> {
    const fields = await this.redis.hgetall(sessionKey(this.prefix, this.appId, shardId));
    const sessionId = fields['session_id'];
    const seq = Number(fields['seq']);
    if (!sessionId || !Number.isSafeInteger(seq)) return undefined;
    return { sessionId, seq };
  }

  async save(shardId: number, session: PersistedSession): Promise<void> {
    const key = sessionKey(this.prefix, this.appId, shardId);
    await this.redis
      .multi()
      .hset(key, { session_id: session.sessionId, seq: String(session.seq), updated_at: String(Date.now()) })
      .expire(key, SESSION_TTL_SEC)
      .exec();
  }

  async clear(shardId: number): Promise<void> {
    await this.redis.del(sessionKey(this.prefix, this.appId, shardId));
  }
}

/** Keeps resume state in memory only; for tests and for the simulator's own demos. */
export class MemorySessionStore implements SessionStore {
  private readonly sessions = new Map<number, PersistedSession>();

  load(shardId: number): Promise<PersistedSession | undefined> {
    return Promise.resolve(this.sessions.get(shardId));
  }

  save(shardId: number, session: PersistedSession): Promise<void> {
    this.sessions.set(shardId, { ...session });
    return Promise.resolve();
  }

  clear(shardId: number): Promise<void> {
    this.sessions.delete(shardId);
    return Promise.resolve();
  }
}
