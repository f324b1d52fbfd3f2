import { WebSocketServer } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { RotatingShard } from '../../src/gateway/rotating-shard.js';
import type { RotationReason, RotationResult } from '../../src/gateway/rotation.js';
import {
  GatewaySession,
  type ReconnectReason,
  type ShardStatus,
  type TokenSource,
} from '../../src/gateway/session.js';
import { RedisSessionStore } from '../../src/gateway/session-store.js';
import { silentLogger } from '../../src/log.js';
import { AccessTokenManager } from '../../src/qq/access-token.js';
import { INTENTS } from '../../src/qq/intents.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { eventually } from '../helpers/gateway.js';
import { deletePrefix, freshPrefix, redisConnection } from '../helpers/redis.js';
import { RecordingStore, silentGateway } from '../helpers/rotation.js';

const APP_ID = '102000000';
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** A gateway that says Hello and closes every RESUME with 4009 (resumable): a resume that keeps failing. */
async function resumeRefuser(): Promise<string> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  wss.on('connection', (ws) => {
    ws.send(JSON.stringify({ op: 10, d: { heartbeat_interval: 1_000 } }));
    ws.on('message', (data: Buffer) => {
      if ((JSON.parse(data.toString('utf8')) as { op: number }).op === 6) ws.close(4009, 'session timed out');
    });
  });
  cleanups.push(() => new Promise((resolve) => wss.close(() => resolve())));
  return `ws://127.0.0.1:${(wss.address() as { port: number }).port}/websocket`;
}

interface Setup {
  sim: Simulator;
  shard: RotatingShard;
  store: RecordingStore;
  /** What happened, in order: `old:<status>`, `new:<status>`, `failing:<n>`, `create:fresh`. */
  timeline: string[];
  statuses: ShardStatus[];
  reconnects: ReconnectReason[];
  rotations: [RotationReason, RotationResult][];
  /** Shards whose budget was checked, one entry per check. */
  budgetChecks: number[];
}

/**
 * A RotatingShard whose sessions are built here, so the old session and its successor can be given different
 * tokens or gateways: `oldTokens` / `oldUrl` for the first session, `successorUrl` for every fresh one.
 */
async function setup(options: {
  oldTokens?: (real: TokenSource) => TokenSource;
  oldUrl?: (real: string) => string;
  successorUrl?: string;
  /** The successor's connection starts this much later (a slow discovery), so the overlap is long. */
  successorDelayMs?: number;
  handshakeTimeoutMs?: number;
  rotateEveryMs?: number;
  pace?: (start: () => Promise<void>) => Promise<void>;
}): Promise<Setup> {
  const sim = await startSimulator({ heartbeatIntervalMs: 1_000 });
  cleanups.push(() => sim.close());
  const prefix = freshPrefix('rotate-resume');
  cleanups.push(() => deletePrefix(prefix));
  const redis = redisConnection();
  cleanups.push(() => Promise.resolve(redis.disconnect()));
  const logger = silentLogger();
  const tokens = new AccessTokenManager({
    tokenUrl: `${sim.origin}/app/getAppAccessToken`,
    appId: APP_ID,
    clientSecret: 'simulator-secret',
    logger,
  });
  cleanups.push(() => Promise.resolve(tokens.stop()));
  const store = new RecordingStore(new RedisSessionStore(redis, prefix, APP_ID));
  const out = {
    timeline: [] as string[],
    statuses: [],
    reconnects: [],
    rotations: [],
    budgetChecks: [],
  } as Omit<Setup, 'sim' | 'shard' | 'store'>;
  const shard = new RotatingShard({
    shardId: 0,
    rotateEveryMs: options.rotateEveryMs ?? 600_000,
    store,
    logger,
    resolveGatewayUrl: () => Promise.resolve(sim.wsUrl),
    checkBudget: (shardId) => {
      out.budgetChecks.push(shardId);
      return Promise.resolve({ ok: true });
    },
    pace: options.pace ?? ((start) => start()),
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? 5_000,
    hooks: {
      onStatus: (status) => out.statuses.push(status),
      onReconnect: (reason) => out.reconnects.push(reason),
      onRotation: (reason, result) => out.rotations.push([reason, result]),
    },
    createSession: (role) => {
      const who = role.fresh ? 'new' : 'old';
      if (role.fresh) out.timeline.push('create:fresh');
      return new GatewaySession({
        shardId: 0,
        shardCount: 1,
        intents: INTENTS.GROUP_AND_C2C_EVENT,
        fresh: role.fresh,
        store: role.store,
        maxResumeFailures: role.maxResumeFailures,
        tokens: !role.fresh && options.oldTokens ? options.oldTokens(tokens) : tokens,
        resolveGatewayUrl: async (context) => {
          const url = await role.resolveGatewayUrl(context);
          if (url === '') return url;
          if (role.fresh) {
            await new Promise((resolve) => setTimeout(resolve, options.successorDelayMs ?? 0));
            return options.successorUrl ?? url;
          }
          return options.oldUrl ? options.oldUrl(url) : url;
        },
        logger,
        reconnectScheduleMs: [20, 50, 100],
        invalidSessionDelayMs: [10, 20],
        handshakeTimeoutMs: options.handshakeTimeoutMs ?? 5_000,
        onDispatch: () => Promise.resolve(),
        hooks: {
          ...role.hooks,
          onStatus: (status) => {
            out.timeline.push(`${who}:${status}`);
            role.hooks.onStatus?.(status);
          },
          onResumeFailing: (failures) => {
            out.timeline.push(`failing:${failures}`);
            role.hooks.onResumeFailing?.(failures);
          },
        },
      });
    },
  });
  cleanups.push(() => shard.stop());
  await shard.start();
  await eventually(() => out.statuses.includes('ready'), 'first READY');
  return { sim, shard, store, ...out };
}

describe('RotatingShard when resumes keep failing', () => {
  it('identifies a successor after the third failed resume while the old session keeps resuming', async () => {
    let gets = 0;
    const s = await setup({
      // The first token (the IDENTIFY) is good; every RESUME after that is refused with 4004.
      oldTokens: (real) => ({
        get: () => (gets++ === 0 ? real.get() : Promise.resolve('bad')),
        refresh: () => real.refresh(),
      }),
      successorDelayMs: 400,
    });
    const [oldId] = s.sim.state().sessions.map((x) => x.session_id);
    const beforeCut = s.statuses.length;
    s.sim.fault('cut', { shard: 0 });
    await eventually(() => s.rotations.length > 0, 'the rotation ends');

    expect(s.rotations).toEqual([['resume_failing', 'rotated']]);
    const created = s.timeline.indexOf('create:fresh');
    expect(s.timeline.slice(0, created).filter((e) => e.startsWith('failing:'))).toEqual([
      'failing:1',
      'failing:2',
      'failing:3',
    ]);
    // The old session kept resuming while the successor connected, and never identified again: the only two
    // IDENTIFYs are its first and the successor's.
    const overlap = s.timeline.slice(created, s.timeline.indexOf('new:ready'));
    expect(overlap).toContain('failing:4');
    expect(overlap).not.toContain('old:identifying');
    expect(s.sim.state().identifies).toBe(2);
    expect(s.sim.state().resumes).toBeGreaterThanOrEqual(3);
    expect(s.timeline.indexOf('old:stopped')).toBeGreaterThan(s.timeline.indexOf('new:ready'));
    // A real outage preceded it, so the shard's hooks saw it; the successor's own handshake was not forwarded.
    expect(s.statuses).toContain('resuming');
    expect(s.statuses.at(-1)).toBe('ready');
    expect(s.statuses.slice(beforeCut)).not.toContain('identifying');
    expect(s.reconnects.length).toBeGreaterThanOrEqual(3);
    expect(s.budgetChecks).toEqual([]);
    const newId = s.shard.snapshot().sessionId;
    expect(newId).not.toBe(oldId);
    await s.shard.stop();
    expect(s.store.landed.at(-1)).toBe(newId);
  });

  it('stops the successor without persisting when the old session resumes first', async () => {
    const silent = await silentGateway();
    cleanups.push(() => silent.close());
    const refuser = await resumeRefuser();
    const refusing = { armed: false, left: 3 };
    const s = await setup({
      // Once armed, three resumes go to a gateway that refuses them; the fourth reaches the simulator.
      oldUrl: (real) => (refusing.armed && refusing.left-- > 0 ? refuser : real),
      successorUrl: silent.url,
      handshakeTimeoutMs: 3_000,
    });
    const [oldId] = s.sim.state().sessions.map((x) => x.session_id);
    refusing.armed = true;
    s.sim.fault('cut', { shard: 0 });
    await eventually(() => s.rotations.length > 0, 'the rotation ends');

    expect(s.rotations).toEqual([['resume_failing', 'old_recovered']]);
    expect(s.timeline).toContain('create:fresh');
    expect(s.timeline).toContain('old:resumed');
    expect(s.timeline).toContain('new:stopped');
    expect(s.sim.state()).toMatchObject({ identifies: 1 });
    expect(s.shard.snapshot()).toMatchObject({ status: 'resumed', sessionId: oldId });
    await s.shard.stop();
    expect(new Set(s.store.landed)).toEqual(new Set([oldId]));
  });

  it('opens a successor only when the start pacing (max_concurrency per 5 s) lets it', async () => {
    const waiting: (() => void)[] = [];
    const s = await setup({
      rotateEveryMs: 300,
      // The manager's pacing, held here: a start runs when the test releases it.
      pace: (start) => new Promise<void>((resolve) => waiting.push(() => void start().then(resolve))),
    });
    await eventually(() => waiting.length === 1, 'the age rotation asking for a start slot');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(s.timeline).not.toContain('create:fresh');
    expect(s.sim.state().identifies).toBe(1);
    waiting.shift()!();
    await eventually(() => s.rotations.length > 0, 'the rotation ends');
    expect(s.rotations).toEqual([['age', 'rotated']]);
    expect(s.sim.state().identifies).toBe(2);
    expect(s.budgetChecks).toEqual([0]);
  });
});
