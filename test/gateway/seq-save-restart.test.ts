import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { RedisSessionStore } from '../../src/gateway/session-store.js';
import { deliveryQueue } from '../../src/queue/delivery-queue.js';
import { startSimulator } from '../../src/simulator/index.js';
import { seedAddRobot } from '../helpers/gateway.js';
import { startReceiver } from '../helpers/receiver.js';
import { deletePrefix, freshPrefix, redisConnection } from '../helpers/redis.js';

const APP_ID = '102000000';
/** Far longer than the test: after the first event, only a stop could save the seq, and a kill -9 does not stop. */
const SAVE_INTERVAL_MS = 600_000;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

interface Bridge {
  ready: Promise<void>;
  kill(): Promise<void>;
}

function forkBridge(env: Record<string, string>): Bridge {
  const journalDir = mkdtempSync(join(tmpdir(), 'qqwb-seq-restart-'));
  const script = fileURLToPath(new URL('./bridge-process.ts', import.meta.url));
  const child = fork(script, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, ...env, QQWB_JOURNAL_DIR: journalDir },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const kill = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  cleanups.push(() => rmSync(journalDir, { recursive: true, force: true }));
  cleanups.push(kill);
  const ready = new Promise<void>((resolve, reject) => {
    child.on('message', () => resolve());
    void exited.then(() => reject(new Error('the bridge process exited before it was ready')));
  });
  return { ready, kill };
}

describe('a bridge killed while a seq save is held back by the save interval', () => {
  it('resumes from the last saved seq after a restart; QQ replays the rest and dedupe delivers each event once', async () => {
    const sim = await startSimulator({ heartbeatIntervalMs: 1_000 });
    cleanups.push(() => sim.close());
    const receiver = await startReceiver();
    cleanups.push(() => receiver.close());
    const prefix = freshPrefix('seq-restart');
    const redis = redisConnection();
    cleanups.push(async () => {
      await deletePrefix(prefix, redis);
      redis.disconnect();
    });
    const queue = deliveryQueue('backend', prefix, redis);
    cleanups.push(() => queue.close());
    const store = new RedisSessionStore(redis, prefix, APP_ID);
    const completed = async (): Promise<number> => (await queue.getJobCounts('completed')).completed ?? 0;
    const env = {
      QQWB_SIM_ORIGIN: sim.origin,
      QQWB_PREFIX: prefix,
      QQWB_RECEIVER_URL: receiver.url,
      // the same replica id: the restart takes back its own lease at once instead of waiting out its TTL
      QQWB_REPLICA_ID: `gw-test-${randomBytes(3).toString('hex')}`,
      QQWB_SAVE_INTERVAL_MS: String(SAVE_INTERVAL_MS),
    };

    const first = forkBridge(env);
    await first.ready;
    // READY moved the seq after a quiet spell: saved at once; every move after it is held back by the interval
    await untilAsync(async () => (await store.load(0)) !== undefined, 'the session saved at READY');
    const saved = (await store.load(0))!.seq;
    const events = [1, 2, 3].map((n) => sim.emit('GROUP_ADD_ROBOT', seedAddRobot(n)));
    expect(events[0]!.s).toBeGreaterThan(saved);
    await receiver.waitFor(3);
    // every job finished, so the kill leaves no delivery half done (that one would be re-sent after a stall)
    await untilAsync(async () => (await completed()) === 3, 'three deliveries completed');
    expect((await store.load(0))?.seq).toBe(saved);

    await first.kill();
    await sim.waitFor((s) => s.openConnections === 0, 10_000);
    expect(sim.state().dispatched).toBe(3);
    sim.emit('GROUP_ADD_ROBOT', seedAddRobot(4));

    const second = forkBridge(env);
    await second.ready;
    await receiver.waitFor(4);
    await untilAsync(async () => (await completed()) === 4, 'the fourth delivery completed');
    // a RESUME from READY's seq: QQ replayed the three events delivered before the kill and the one sent while down
    expect(sim.state()).toMatchObject({ identifies: 1, resumes: 1, dispatched: 3 + 4 });
    // One delivery at a time, in enqueue order: a replayed event that got through would have been delivered before
    // the fourth, so what the receiver has now is all it gets.
    const ids = receiver.requests.map((r) => r.headers['webhook-id']);
    expect(ids).toHaveLength(4);
    expect(new Set(ids).size).toBe(4);
    expect(await queue.getJobCounts('waiting', 'active', 'delayed', 'failed')).toEqual({
      waiting: 0,
      active: 0,
      delayed: 0,
      failed: 0,
    });
  }, 60_000);
});

async function untilAsync(check: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
