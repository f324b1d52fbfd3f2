import { afterEach, describe, expect, it } from 'vitest';
import {
  RedisSessionStore,
  type PersistedSession,
  type SessionStore,
} from '../../src/gateway/session-store.js';
import { StoreHandover } from '../../src/gateway/store-handover.js';
import { silentLogger } from '../../src/log.js';
import { startSimulator } from '../../src/simulator/index.js';
import { eventually, seedAddRobot, sessionAgainst } from '../helpers/gateway.js';
import { deletePrefix, freshPrefix, redisConnection } from '../helpers/redis.js';
import { RecordingStore } from '../helpers/rotation.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

function redisStore(): RecordingStore {
  const prefix = freshPrefix('handover');
  const redis = redisConnection();
  cleanups.push(async () => {
    redis.disconnect();
    await deletePrefix(prefix);
  });
  return new RecordingStore(new RedisSessionStore(redis, prefix, '102000000'));
}

const session = (sessionId: string, seq: number): PersistedSession => ({ sessionId, seq });

describe('StoreHandover', () => {
  it("holds the successor's writes until the previous owner's write in flight has landed", async () => {
    const store = redisStore();
    store.slowSessionId = 'old';
    store.slowMs = 300;
    const handover = new StoreHandover(store, silentLogger());
    const oldView = handover.view();
    const newView = handover.view();
    expect([oldView.state, newView.state]).toEqual(['owner', 'waiting']);
    const oldWrite = oldView.save(0, session('old', 5));
    const newWrite = newView.save(0, session('new', 1));
    await handover.promote(newView);
    await Promise.all([oldWrite, newWrite]);
    expect(store.landed).toEqual(['old', 'new']);
    // Later writes of the old session are dropped; the successor's go through.
    await oldView.save(0, session('old', 6));
    await oldView.clear(0);
    await newView.save(0, session('new', 2));
    expect(store.landed).toEqual(['old', 'new', 'new']);
    expect(await store.load(0)).toEqual(session('new', 2));
  });

  it('drops what a successor that never took over held, and never touches the owner', async () => {
    const store = redisStore();
    const handover = new StoreHandover(store, silentLogger());
    const owner = handover.view();
    const successor = handover.view();
    const held = successor.save(0, session('new', 1));
    await handover.revoke(successor);
    await held; // resolves: a stop() waiting for it must not hang
    await handover.revoke(owner); // refused: the owner keeps writing
    await owner.save(0, session('old', 3));
    expect(store.landed).toEqual(['old']);
    expect(successor.state).toBe('revoked');
  });
});

describe('GatewaySession fresh and stop({ persist: false })', () => {
  it('a fresh session identifies despite a stored session; persist: false writes nothing more', async () => {
    const sim = await startSimulator({ heartbeatIntervalMs: 1_000 });
    cleanups.push(() => sim.close());
    const store: SessionStore & { saves: number } = Object.assign(redisStore(), { saves: 0 });
    await store.save(0, session('stored-elsewhere', 9));
    const counting: SessionStore = {
      load: (id) => store.load(id),
      save: (id, s) => {
        store.saves++;
        return store.save(id, s);
      },
      clear: (id) => store.clear(id),
    };
    const h = sessionAgainst(sim, { store: counting, fresh: true });
    cleanups.push(() => Promise.resolve(h.tokens.stop()));
    await h.session.start();
    await eventually(() => h.session.currentStatus === 'ready', 'READY');
    expect(sim.state()).toMatchObject({ identifies: 1, resumes: 0 });
    const { s } = sim.emit('GROUP_ADD_ROBOT', seedAddRobot(1));
    await h.waitForDispatches(1);
    const deadline = Date.now() + 5_000;
    while ((await store.load(0))?.seq !== s) {
      if (Date.now() > deadline) throw new Error('the seq was never saved');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const before = store.saves;
    await h.session.stop({ persist: false });
    expect(store.saves).toBe(before);
    expect((await store.load(0))?.sessionId).toBe(h.session.snapshot().sessionId);
  });
});
