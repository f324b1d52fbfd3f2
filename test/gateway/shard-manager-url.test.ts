import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator } from '../../src/simulator/index.js';
import { eventually } from '../helpers/gateway.js';
import { deletePrefix, freshPrefix } from '../helpers/redis.js';
import { startReplica, type Replica } from '../helpers/replica.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

const status = (r: Replica): string | undefined => r.manager.snapshot()[0]?.status;

describe('ShardManager gateway URL', () => {
  it('reconnects with the last known URL after a healthy session and re-discovers only after a failed attempt', async () => {
    const sim = await startSimulator({ heartbeatIntervalMs: 1_000 });
    cleanups.push(() => sim.close());
    const prefix = freshPrefix('gwurl');
    cleanups.push(() => deletePrefix(prefix));
    const replica = await startReplica({ simulatorOrigin: sim.origin, prefix, ttlMs: 5_000 });
    cleanups.push(() => replica.stop());
    await eventually(() => status(replica) === 'ready', 'READY');
    // the start discovered the gateway once (GET /gateway/bot); the first connection used that URL
    expect(sim.state()).toMatchObject({ gatewayBotRequests: 1, gatewayRequests: 0 });

    sim.fault('reconnect');
    await sim.waitFor((s) => s.resumes === 1, 5_000);
    await eventually(() => status(replica) === 'resumed', 'RESUMED');
    expect(sim.state().gatewayRequests).toBe(0);

    // the next reconnect presents an expired token and is refused (4004): that attempt failed, so the one after
    // it asks QQ where the gateway is
    sim.expireTokens();
    sim.fault('close', { code: 4009 });
    await sim.waitFor((s) => s.closes.some((c) => c.code === 4004), 5_000);
    await sim.waitFor((s) => s.resumes === 3, 5_000);
    expect(sim.state().gatewayRequests).toBe(1);
  });
});
