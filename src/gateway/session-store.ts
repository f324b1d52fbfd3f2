import type { RedisClient } from '../redis/client.js';
import { BridgeError } from '../errors.js';
import { leaseKey, sessionKey } from '../redis/keys.js';
import { legacySessionKey } from '../redis/legacy-keys.js';

/** What a shard needs to RESUME: QQ's session id and the last sequence whose events are durably enqueued. */
export interface PersistedSession {
  sessionId: string;
  seq: number;
  /** Epoch ms of the READY that created the session; absent in records written before it was kept, or unknown. */
  startedAt?: number;
}

/** Where resume state lives; injected so the session itself never knows about Redis. */
export interface SessionStore {
  load(shardId: number): Promise<PersistedSession | undefined>;
  save(shardId: number, session: PersistedSession): Promise<void>;
  clear(shardId: number): Promise<void>;
}

/** Sessions older than this are not worth resuming: QQ will refuse and the bridge would lose a round trip. */
const SESSION_TTL_SEC = 24 * 3600;

/** Resume state in a Redis hash per shard, for a single gateway process (no leases). */
export class RedisSessionStore implements SessionStore {
  /** Shards whose session of the old key layout this store has already deleted: one DEL each, not one per save. */
  private readonly legacyForgotten = new Set<number>();

  constructor(
    protected readonly redis: RedisClient,
    protected readonly prefix: string,
    protected readonly appId: string,
  ) {}

  /**
   * The shard's session; when there is none, the one an earlier version saved under the old key layout, so the
   * first start after an upgrade RESUMEs instead of identifying anew. The first save or clear removes that old
   * record, so it is read at most until then.
   */
  async load(shardId: number): Promise<PersistedSession | undefined> {
    return (
      (await this.read(sessionKey(this.prefix, this.appId, shardId))) ??
      (await this.read(legacySessionKey(this.prefix, this.appId, shardId)))
    );
  }

  private async read(key: string): Promise<PersistedSession | undefined> {
    const fields = await this.redis.hgetall(key);
    const sessionId = fields['session_id'];
    const seq = Number(fields['seq']);
    if (!sessionId || !Number.isSafeInteger(seq)) return undefined;
    const startedAt = Number(fields['started_at']);
    return Number.isSafeInteger(startedAt) && startedAt > 0
      ? { sessionId, seq, startedAt }
      : { sessionId, seq };
  }

  async save(shardId: number, session: PersistedSession): Promise<void> {
    const key = sessionKey(this.prefix, this.appId, shardId);
    await this.redis
      .multi()
      .hset(key, {
        session_id: session.sessionId,
        seq: String(session.seq),
        updated_at: String(Date.now()),
        started_at: startedAtField(session),
      })
      .expire(key, SESSION_TTL_SEC)
      .exec();
    await this.forgetLegacy(shardId);
  }

  async clear(shardId: number): Promise<void> {
    await this.redis.del(sessionKey(this.prefix, this.appId, shardId));
    await this.forgetLegacy(shardId, true);
  }

  /**
   * Deletes the shard's session of the old key layout, once a newer one is written or the session is given up. A
   * command of its own: the old key has another hash tag, so it cannot join the write.
   */
  protected async forgetLegacy(shardId: number, always = false): Promise<void> {
    if (!always && this.legacyForgotten.has(shardId)) return;
    await this.redis.del(legacySessionKey(this.prefix, this.appId, shardId));
    this.legacyForgotten.add(shardId);
  }
}

/** `started_at` as stored: the epoch ms, or "" when unknown (which loads as unknown, like a record without it). */
function startedAtField(session: PersistedSession): string {
  return session.startedAt === undefined ? '' : String(session.startedAt);
}

// KEYS[1] lease, KEYS[2] session; ARGV[1] expected lease value, ARGV[2] session id, ARGV[3] seq, ARGV[4] now ms,
// ARGV[5] session TTL s, ARGV[6] started_at. The check and the write are one script, so no other holder can slip
// in between them.
const FENCED_SAVE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[2], 'session_id', ARGV[2], 'seq', ARGV[3], 'updated_at', ARGV[4], 'started_at', ARGV[6])
redis.call('EXPIRE', KEYS[2], ARGV[5])
return 1
`;

// KEYS[1] lease, KEYS[2] session; ARGV[1] expected lease value.
const FENCED_CLEAR = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[2])
return 1
`;

export interface SessionFence {
  /**
   * The lease value (`<owner>:<token>`) a write must find in Redis for this shard, or undefined when this process
   * has no lease for it. A session is given the value of the lease it was started under, so a session left over
   * from an earlier holding term can never write under a later term's token.
   */
  valueFor(shardId: number): string | undefined;
  /** Told when a write found another value in place: the lease belongs to someone else now. */
  onRefused?(shardId: number): void;
}

/**
 * Resume state for gateway replicas: a write happens only if the shard's lease still holds our value, checked in
 * the same Lua script. A holder that was paused or partitioned past its lease cannot overwrite the session and seq
 * the new holder resumed with; its write is refused with BRIDGE_ERR_REDIS ("lease lost"). Reads are not fenced:
 * the new holder reads what the old one last persisted, which is how a takeover resumes.
 */
export class FencedRedisSessionStore extends RedisSessionStore {
  constructor(
    redis: RedisClient,
    prefix: string,
    appId: string,
    private readonly fence: SessionFence,
  ) {
    super(redis, prefix, appId);
  }

  override async save(shardId: number, session: PersistedSession): Promise<void> {
    const args = [
      session.sessionId,
      String(session.seq),
      String(Date.now()),
      String(SESSION_TTL_SEC),
      startedAtField(session),
    ];
    await this.fenced(FENCED_SAVE, shardId, args);
  }

  override async clear(shardId: number): Promise<void> {
    await this.fenced(FENCED_CLEAR, shardId, []);
  }

  private async fenced(script: string, shardId: number, args: string[]): Promise<void> {
    const value = this.fence.valueFor(shardId);
    if (value === undefined) throw leaseLost(shardId);
    const lease = leaseKey(this.prefix, this.appId, shardId);
    const session = sessionKey(this.prefix, this.appId, shardId);
    const written = await this.redis.eval(script, 2, lease, session, value, ...args);
    if (Number(written) === 1) return this.forgetLegacy(shardId);
    this.fence.onRefused?.(shardId);
    throw leaseLost(shardId);
  }
}

function leaseLost(shardId: number): BridgeError {
  return new BridgeError(
    'BRIDGE_ERR_REDIS',
    `lease lost: shard ${shardId} is held by another replica, so its session state was not written`,
  );
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
