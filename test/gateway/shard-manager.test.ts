import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { leaseKey } from '../../src/gateway/lease.js';
import { RedisSessionStore } from '../../src/gateway/session-store.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { eventually, seedAddRobot } from '../helpers/gateway.js';
import { deletePrefix, freshPrefix, redisConnection } from '../helpers/redis.js';
import { startReplica, type Replica } from '../helpers/replica.js';
import type { ReplicaMessage } from './replica-process.js';

const APP_ID = '102000000';
const TTL_MS = 1_000;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function simulator(recommendedShards = 1): Promise<Simulator> {
  const sim = await startSimulator({ heartbeatIntervalMs: 1_000, recommendedShards });
  cleanups.push(() => sim.close());
  return sim;
}

function prefixForTest(): string {
  const prefix = freshPrefix('lease');
  cleanups.push(() => deletePrefix(prefix));
  return prefix;
}

function connection(): Redis {
  const redis = redisConnection();
  cleanups.push(() => Promise.resolve(redis.disconnect()));
  return redis;
}

async function replica(sim: Simulator, prefix: string): Promise<Replica> {
  const started = await startReplica({ simulatorOrigin: sim.origin, prefix, ttlMs: TTL_MS });
  cleanups.push(() => started.stop());
  return started;
}

const healthy = (r: Replica, shardId = 0): boolean =>
  r.manager.snapshot().some((s) => s.shard[0] === shardId && ['ready', 'resumed'].includes(s.status));

/** The resume state in Redis, read without any fence. */
async function persisted(redis: Redis, prefix: string, shardId = 0) {
  return new RedisSessionStore(redis, prefix, APP_ID).load(shardId);
}

/** `eventually` for a check that needs Redis. */
async function until(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

interface ReplicaProcess {
  readonly child: ChildProcess;
  readonly messages: ReplicaMessage[];
  waitFor(check: (messages: ReplicaMessage[]) => boolean, what: string): Promise<void>;
}

/** A replica in a child process, so it can be SIGKILLed like a real gateway (no cleanup of any kind runs). */
function replicaProcess(sim: Simulator, prefix: string): ReplicaProcess {
  const script = fileURLToPath(new URL('./replica-process.ts', import.meta.url));
  const child = fork(script, [], {
    execArgv: ['--import', 'tsx'],
    env: {
      ...process.env,
      QQWB_SIM_ORIGIN: sim.origin,
      QQWB_PREFIX: prefix,
      QQWB_LEASE_TTL_MS: String(TTL_MS),
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  cleanups.push(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  });
  const messages: ReplicaMessage[] = [];
  child.on('message', (message) => messages.push(message as ReplicaMessage));
  return {
    child,
    messages,
    waitFor: (check, what) => eventually(() => check(messages), what, 15_000),
  };
}

describe('ShardManager with leases (gateway replicas)', () => {
  it('runs a shard on exactly one of two replicas, which alone receives its events', async () => {
    const sim = await simulator();
    const prefix = prefixForTest();
    const [a, b] = await Promise.all([replica(sim, prefix), replica(sim, prefix)]);
    await eventually(() => healthy(a) || healthy(b), 'one replica READY');
    const [holder, standby] = healthy(a) ? [a, b] : [b, a];
    expect(holder.manager.snapshot()).toEqual([
      expect.objectContaining({ shard: [0, 1], status: 'ready', lease: { token: 1 } }),
    ]);
    expect(standby.manager.snapshot()).toEqual([]);

    const ids = [1, 2, 3].map((n) => sim.emit('GROUP_ADD_ROBOT', seedAddRobot(n)).id);
    await eventually(() => holder.dispatched.length === 3, 'three dispatches');
    // Several lease rounds pass: the standby keeps trying and must keep failing.
    await new Promise((resolve) => setTimeout(resolve, TTL_MS));
    expect(holder.dispatched.map((d) => d.id)).toEqual(ids);
    expect(standby.dispatched).toEqual([]);
    expect(standby.statuses).toEqual([]);
    expect(sim.state()).toMatchObject({ identifies: 1, resumes: 0, openConnections: 1 });
  });

  it('takes over from a SIGKILLed holder within the lease TTL, resumes and receives the gap once', async () => {
    const sim = await simulator();
    const prefix = prefixForTest();
    const redis = connection();
    const holder = replicaProcess(sim, prefix);
    await holder.waitFor((m) => m.some((x) => x.kind === 'started'), 'the child replica to start');
    await holder.waitFor((m) => m.some((x) => x.kind === 'status' && x.status === 'ready'), 'child READY');
    const standby = await replica(sim, prefix);
    expect(standby.held()).toEqual([]);

    const before = [1, 2, 3].map((n) => sim.emit('GROUP_ADD_ROBOT', seedAddRobot(n)));
    const lastBefore = before[2]!.s;
    await until(async () => (await persisted(redis, prefix))?.seq === lastBefore, 'seq persisted');
    await holder.waitFor((m) => m.filter((x) => x.kind === 'dispatch').length === 3, 'child dispatches');

    const killedAt = Date.now();
    holder.child.kill('SIGKILL');
    const gap = [4, 5, 6].map((n) => sim.emit('GROUP_MSG_RECEIVE', seedAddRobot(n)).id);

    await eventually(() => healthy(standby), 'the standby to take the shard over', 5_000);
    const takeoverMs = Date.now() - killedAt;
    await eventually(() => standby.dispatched.length >= 3, 'gap events on the new holder');
    await new Promise((resolve) => setTimeout(resolve, 200));

    // The lease expires at most TTL after the child's last renewal; the standby tries every TTL/3.
    expect(takeoverMs).toBeLessThan(TTL_MS + TTL_MS / 3 + 1_000);
    expect(standby.manager.snapshot()[0]).toMatchObject({ status: 'resumed', lease: { token: 2 } });
    expect(sim.state().identifies).toBe(1);
    expect(sim.state().resumes).toBeGreaterThanOrEqual(1);
    const childIds = holder.messages.flatMap((m) => (m.kind === 'dispatch' ? [m.id] : []));
    expect(childIds).toEqual(before.map((e) => e.id));
    expect(standby.dispatched.map((d) => d.id)).toEqual(gap);
  });

  it('fences out a paused holder: on waking it stops its session and writes nothing over the new holder', async () => {
    const sim = await simulator();
    const prefix = prefixForTest();
    const redis = connection();
    const holder = replicaProcess(sim, prefix);
    await holder.waitFor((m) => m.some((x) => x.kind === 'status' && x.status === 'ready'), 'child READY');
    const standby = await replica(sim, prefix);
    const first = sim.emit('GROUP_ADD_ROBOT', seedAddRobot(1));
    await until(async () => (await persisted(redis, prefix))?.seq === first.s, 'seq persisted');

    holder.child.kill('SIGSTOP');
    const during = sim.emit('GROUP_DEL_ROBOT', seedAddRobot(2));
    await eventually(() => healthy(standby), 'the standby to take over', 5_000);
    const after = sim.emit('GROUP_MSG_RECEIVE', seedAddRobot(3));
    await until(async () => (await persisted(redis, prefix))?.seq === after.s, 'new holder persisted');
    const newHolderLease = await redis.get(leaseKey(prefix, APP_ID, 0));

    holder.child.kill('SIGCONT');
    await holder.waitFor(
      (m) => m.some((x) => x.kind === 'status' && x.status === 'stopped'),
      'child stopped',
    );
    await new Promise((resolve) => setTimeout(resolve, TTL_MS));
    expect(await persisted(redis, prefix)).toMatchObject({ seq: after.s });
    expect(await redis.get(leaseKey(prefix, APP_ID, 0))).toBe(newHolderLease);
    expect(standby.dispatched.map((d) => d.id)).toEqual([during.id, after.id]);
    expect(healthy(standby)).toBe(true);
    expect(sim.state().identifies).toBe(1);
  });

  it('on a graceful stop persists, then releases, so the peer resumes without waiting out the TTL', async () => {
    const sim = await simulator();
    const prefix = prefixForTest();
    const redis = connection();
    const first = await startReplica({ simulatorOrigin: sim.origin, prefix, ttlMs: 10_000 });
    cleanups.push(() => first.stop());
    await eventually(() => healthy(first), 'first READY');
    const second = await startReplica({ simulatorOrigin: sim.origin, prefix, ttlMs: 10_000 });
    cleanups.push(() => second.stop());
    const { s } = sim.emit('GROUP_ADD_ROBOT', seedAddRobot(1));
    await eventually(() => first.dispatched.length === 1, 'dispatch on the first');

    await first.stop();
    expect(await persisted(redis, prefix)).toMatchObject({ seq: s });
    expect(await redis.exists(leaseKey(prefix, APP_ID, 0))).toBe(0);
    const stoppedAt = Date.now();
    const { id } = sim.emit('GROUP_DEL_ROBOT', seedAddRobot(2));
    // With a 10 s TTL, a takeover within a few seconds proves the lease was released, not expired.
    await eventually(() => second.dispatched.length === 1, 'the gap event on the second', 5_000);
    expect(Date.now() - stoppedAt).toBeLessThan(5_000);
    expect(second.dispatched[0]!.id).toBe(id);
    expect(sim.state()).toMatchObject({ identifies: 1, resumes: 1 });
  });

  it('stops its session when the lease is taken, writes nothing over the new holder, and resumes once it is free', async () => {
    const sim = await simulator();
    const prefix = prefixForTest();
    const redis = connection();
    const holder = await replica(sim, prefix);
    await eventually(() => healthy(holder), 'READY');
    const { s } = sim.emit('GROUP_ADD_ROBOT', seedAddRobot(1));
    await until(async () => (await persisted(redis, prefix))?.seq === s, 'seq persisted');

    await redis.set(leaseKey(prefix, APP_ID, 0), 'another-replica:99', 'PX', 60_000);
    await eventually(() => holder.held().length === 0, 'the holder to give the shard up', 3_000);
    // The lease is dropped at once; the session's stop (close, persist) completes a moment later.
    await eventually(() => holder.statuses.at(-1)?.status === 'stopped', 'its session to stop', 3_000);
    await eventually(() => sim.state().openConnections === 0, 'socket closed');
    const gap = sim.emit('GROUP_DEL_ROBOT', seedAddRobot(2));
    await new Promise((resolve) => setTimeout(resolve, TTL_MS));
    expect(holder.dispatched).toHaveLength(1);
    expect(await persisted(redis, prefix)).toMatchObject({ seq: s });

    await redis.del(leaseKey(prefix, APP_ID, 0));
    await eventually(() => healthy(holder), 'RESUMED after re-acquiring', 5_000);
    await eventually(() => holder.dispatched.length === 2, 'the gap event');
    expect(holder.dispatched[1]!.id).toBe(gap.id);
    expect(holder.manager.snapshot()[0]).toMatchObject({ status: 'resumed', lease: { token: 2 } });
    expect(sim.state()).toMatchObject({ identifies: 1, resumes: 1 });
  });

  it('keeps a holder cut off from Redis on its open socket, but never reconnects it once a peer takes over', async () => {
    const sim = await simulator();
    const prefix = prefixForTest();
    const holder = await replica(sim, prefix);
    await eventually(() => healthy(holder), 'READY');
    const peer = await replica(sim, prefix);
    const first = sim.emit('GROUP_ADD_ROBOT', seedAddRobot(1));
    await eventually(() => holder.dispatched.length === 1, 'dispatch');
    // saved within the save interval; the peer then resumes after it rather than replaying it
    await until(async () => (await persisted(holder.redis, prefix))?.seq === first.s, 'the seq saved');

    // A Redis outage alone must not end the session (events would go to the journal meanwhile) ...
    holder.redis.disconnect();
    // ... but once the lease expires the peer acquires it and RESUMEs, which takes the socket from the holder.
    await eventually(() => healthy(peer), 'the peer to take over', 5_000);
    const { id } = sim.emit('GROUP_DEL_ROBOT', seedAddRobot(2));
    await eventually(() => peer.dispatched.length === 1, 'the new event on the peer');
    expect(peer.dispatched[0]!.id).toBe(id);
    // The holder cannot confirm its lease, so it does not resume the session back.
    await new Promise((resolve) => setTimeout(resolve, TTL_MS));
    expect(holder.dispatched).toHaveLength(1);
    expect(healthy(holder)).toBe(false);
    expect(sim.state()).toMatchObject({ identifies: 1, resumes: 1 });
  });

  it('with two shards and two replicas holds each shard exactly once', async () => {
    const sim = await simulator(2);
    const prefix = prefixForTest();
    const replicas = await Promise.all([replica(sim, prefix), replica(sim, prefix)]);
    const held = (): number[] => replicas.flatMap((r) => r.held()).sort();
    // Started together, one may take both in its first round and hand one off once it sees the other live.
    await eventually(
      () =>
        held().join() === '0,1' &&
        replicas.every((r) => r.held().length === 1 && r.held().every((id) => healthy(r, id))),
      'one shard READY on each replica',
    );
    const ids = [0, 1, 0, 1].map((shard, n) => sim.emit('GROUP_ADD_ROBOT', seedAddRobot(n), { shard }).id);
    await eventually(() => replicas.flatMap((r) => r.dispatched).length === 4, 'four dispatches');
    await new Promise((resolve) => setTimeout(resolve, TTL_MS));
    expect(held()).toEqual([0, 1]);
    const received = replicas.flatMap((r) => r.dispatched.map((d) => d.id));
    expect(received.sort()).toEqual([...ids].sort());
    for (const r of replicas) {
      for (const d of r.dispatched) expect(r.held()).toContain(d.shardId);
    }
    // A shard handed off is resumed, never identified again.
    expect(sim.state()).toMatchObject({ identifies: 2 });
  });
});
