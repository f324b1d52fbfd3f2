import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { GatewayReadiness, gatewayReadyKey } from '../../src/outbound/gateway-ready.js';
import { MAX_READY_FRESHNESS_MS, ReadinessWriter } from '../../src/outbound/readiness-writer.js';
import { waitFor } from '../delivery/fixtures.js';
import { deletePrefix, freshPrefix, redisConnection } from '../helpers/redis.js';

const APP_ID = '102000000';

let prefix: string;
let redis: Redis;
let readiness: GatewayReadiness;
/** Every mark asked for, in order, as the real GatewayReadiness received it. */
let marks: { shard: string; ready: boolean }[];
const writers: ReadinessWriter[] = [];

beforeEach(() => {
  prefix = freshPrefix('ready-writer');
  redis = redisConnection();
  readiness = new GatewayReadiness(redis, prefix, APP_ID);
  marks = [];
});

afterEach(async () => {
  await Promise.all(writers.splice(0).map((w) => w.stop()));
  await deletePrefix(prefix);
  await redis.quit();
});

function writer(leaseTtlMs: number): ReadinessWriter {
  const created = new ReadinessWriter({
    readiness: {
      mark: (shard, ready, freshMs) => {
        marks.push({ shard: `${shard[0]}/${shard[1]}`, ready });
        return readiness.mark(shard, ready, freshMs);
      },
    },
    leaseTtlMs,
    logger: silentLogger(),
  });
  writers.push(created);
  return created;
}

async function field(shard: string): Promise<number> {
  return Number(await redis.hget(gatewayReadyKey(prefix, APP_ID), shard));
}

describe('ReadinessWriter', () => {
  it('marks a shard READY on ready and resumed, not ready on every other status, writing only changes', async () => {
    const w = writer(10_000);
    w.onStatus([0, 1], 'connecting');
    w.onStatus([0, 1], 'identifying');
    w.onStatus([0, 1], 'ready');
    await waitFor(() => readiness.isReady());
    expect(await field('0/1')).toBeGreaterThan(Date.now());

    w.onStatus([0, 1], 'waiting');
    await waitFor(async () => !(await readiness.isReady()));
    expect(await field('0/1')).toBe(0);

    w.onStatus([0, 1], 'resuming');
    w.onStatus([0, 1], 'resumed');
    await waitFor(() => readiness.isReady());
    expect(marks).toEqual([
      { shard: '0/1', ready: false },
      { shard: '0/1', ready: true },
      { shard: '0/1', ready: false },
      { shard: '0/1', ready: true },
    ]);
  });

  it('the bot is READY only once every shard of it is', async () => {
    const w = writer(10_000);
    w.onStatus([0, 2], 'ready');
    await waitFor(() => marks.length === 1);
    await waitFor(async () => (await field('0/2')) > 0);
    expect(await readiness.isReady()).toBe(false);
    w.onStatus([1, 2], 'ready');
    await waitFor(() => readiness.isReady());
  });

  it('refreshes a READY shard every third of the lease TTL, and stops refreshing once not ready', async () => {
    const w = writer(300);
    w.onStatus([0, 1], 'ready');
    await waitFor(() => marks.length >= 3);
    expect(marks.every((m) => m.ready)).toBe(true);

    w.onStatus([0, 1], 'stopped');
    await waitFor(async () => (await field('0/1')) === 0);
    const count = marks.length;
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(marks.length).toBe(count);
  });

  it('keeps a READY mark short even with a long lease TTL, so a killed gateway soon stops counting as READY', async () => {
    const w = writer(60_000);
    const before = Date.now();
    w.onStatus([0, 1], 'ready');
    await waitFor(async () => (await field('0/1')) > 0);
    expect(await field('0/1')).toBeLessThanOrEqual(Date.now() + MAX_READY_FRESHNESS_MS);
    expect(await field('0/1')).toBeGreaterThanOrEqual(before + MAX_READY_FRESHNESS_MS);
  });

  it('stop() marks a shard still READY not ready and ignores later statuses', async () => {
    const w = writer(10_000);
    w.onStatus([0, 1], 'ready');
    await waitFor(() => readiness.isReady());

    await w.stop();
    expect(await readiness.isReady()).toBe(false);
    w.onStatus([0, 1], 'ready');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(marks.map((m) => m.ready)).toEqual([true, false]);
  });
});
