import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { SessionSaver } from '../../src/gateway/session-saver.js';
import { RedisSessionStore, type PersistedSession } from '../../src/gateway/session-store.js';
import { silentLogger } from '../../src/log.js';
import { eventually } from '../helpers/gateway.js';
import { deletePrefix, freshPrefix, redisConnection } from '../helpers/redis.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** A Redis store that counts the saves Redis acknowledged, and keeps their seqs in order. */
class CountingStore extends RedisSessionStore {
  saved = 0;
  readonly seqs: number[] = [];
  override async save(shardId: number, session: PersistedSession): Promise<void> {
    await super.save(shardId, session);
    this.saved++;
    this.seqs.push(session.seq);
  }
}

/** A store on the shared test Redis under a fresh prefix. */
function storeOnSharedRedis(): CountingStore {
  const prefix = freshPrefix('saver');
  const redis = redisConnection();
  cleanups.push(async () => {
    await deletePrefix(prefix, redis);
    redis.disconnect();
  });
  return new CountingStore(redis, prefix, '102000000');
}

/** A saver of `sessionId` whose seq the test moves with `move(seq)` (which also tells the saver, as the pump does). */
function saverOf(store: CountingStore, intervalMs: number) {
  let current: PersistedSession | undefined;
  /** Every seq a save read, in order, with when it read it: what a save writes is read as it starts. */
  const reads: { seq: number; at: number }[] = [];
  const saver = new SessionSaver({
    shardId: 0,
    store,
    current: () => {
      if (current) reads.push({ seq: current.seq, at: performance.now() });
      return current;
    },
    logger: silentLogger(),
    intervalMs,
  });
  cleanups.push(() => saver.close());
  const move = (seq: number): void => {
    current = { sessionId: 'sess-1', seq };
    saver.schedule();
  };
  return { saver, reads, move };
}

/** A real redis-server and a store on it, connected the way app.ts connects: fail fast, reconnect forever. */
async function storeOnOwnRedis(): Promise<{ server: RedisServer; store: CountingStore }> {
  const server = await startRedisServer({ appendonly: true });
  cleanups.push(() => server.cleanup());
  const redis = new Redis(server.url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: () => 50,
  });
  redis.on('error', () => undefined);
  cleanups.push(() => Promise.resolve(redis.disconnect()));
  await eventually(() => redis.status === 'ready', 'redis connected');
  return { server, store: new CountingStore(redis, freshPrefix('saver'), '102000000') };
}

describe('SessionSaver', () => {
  it('saves the first move at once and several moves within the interval as one save of the latest seq', async () => {
    const store = storeOnSharedRedis();
    const { saver, move } = saverOf(store, 300);
    move(1);
    await eventually(() => store.saved === 1, 'the leading save');
    // three moves, all within one interval of the leading save (synchronously, in one turn)
    move(2);
    move(3);
    move(4);
    await eventually(() => store.saved === 2, 'the trailing save');
    expect(store.seqs).toEqual([1, 4]);
    expect(await store.load(0)).toEqual({ sessionId: 'sess-1', seq: 4 });
    await saver.close();
    // close saves once more (the same seq): nothing was left for a third save of its own
    expect(store.seqs).toEqual([1, 4, 4]);
  });

  it('saves a move that came within the interval on its own, an interval after the move and not later', async () => {
    const store = storeOnSharedRedis();
    const intervalMs = 200;
    const { reads, move } = saverOf(store, intervalMs);
    move(1);
    await eventually(() => store.saved === 1, 'the leading save');
    const movedAt = performance.now();
    move(2);
    // A schedule, not a speed: a timer due 50 ms after the save's is run after it, however loaded the machine.
    const readByThen = await new Promise<number[]>((resolve) =>
      setTimeout(() => resolve(reads.map((r) => r.seq)), intervalMs + 50),
    );
    expect(readByThen).toEqual([1, 2]);
    await eventually(() => store.saved === 2, 'the trailing save to land');
    expect(await store.load(0)).toEqual({ sessionId: 'sess-1', seq: 2 });
    // and not before the interval: at most one save per interval (a few ms of slack for timer rounding)
    expect(reads[1]!.at - movedAt).toBeGreaterThanOrEqual(intervalMs - 5);
  });

  it('close saves a move the interval still holds back at once, without waiting for the interval', async () => {
    const store = storeOnSharedRedis();
    // far longer than the test may run: only close() can save the second move
    const { saver, move } = saverOf(store, 600_000);
    move(1);
    await eventually(() => store.saved === 1, 'the leading save');
    move(2);
    move(3);
    expect(store.seqs).toEqual([1]);
    await saver.close();
    expect(store.seqs).toEqual([1, 3]);
    expect(await store.load(0)).toEqual({ sessionId: 'sess-1', seq: 3 });
  });

  it('silence drops a move the interval still holds back: a successor owns the stored state', async () => {
    const store = storeOnSharedRedis();
    const { saver, move } = saverOf(store, 600_000);
    move(1);
    await eventually(() => store.saved === 1, 'the leading save');
    move(2);
    saver.silence();
    await saver.close();
    expect(store.seqs).toEqual([1]);
    expect(await store.load(0)).toEqual({ sessionId: 'sess-1', seq: 1 });
  });

  it('reports a failing save, retries it without a new seq and clears the failure once Redis is back', async () => {
    const { server, store } = await storeOnOwnRedis();
    let current: PersistedSession = { sessionId: 'sess-1', seq: 5 };
    const failures: string[] = [];
    const saver = new SessionSaver({
      shardId: 0,
      store,
      current: () => current,
      logger: silentLogger(),
      onFailure: (error) => failures.push(error),
      retryDelayMs: 100,
    });
    cleanups.push(() => saver.close());

    saver.schedule();
    await eventually(() => store.saved === 1, 'the first save');
    expect(saver.failing).toBe(false);
    expect(await store.load(0)).toEqual({ sessionId: 'sess-1', seq: 5 });

    await server.stop();
    current = { sessionId: 'sess-1', seq: 9 };
    saver.schedule();
    await eventually(() => saver.failing, 'the save to fail');
    // retried on its own while failing, each failure counted
    await eventually(() => failures.length >= 2, 'a failed retry');

    await server.start();
    await eventually(() => !saver.failing, 'a retry to succeed once Redis is back', 10_000);
    expect(store.saved).toBe(2);
    expect(await store.load(0)).toEqual({ sessionId: 'sess-1', seq: 9 });
    const counted = failures.length;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(failures).toHaveLength(counted);
  }, 30_000);
});
