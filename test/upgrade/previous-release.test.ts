/**
 * An upgrade from the previous release (the last one before per-queue hash tags, docs/design.md "Redis key
 * layout"): test/fixtures/upgrade/ holds target queues and a journal written by that release's own code
 * (scripts/write-upgrade-fixtures.ts). They are put back under a fresh prefix on real Redis, the current bridge is
 * started on them against the simulator and a loopback receiver per target, and every event the old release
 * accepted must arrive exactly once, signed, while the journal empties.
 */
import { copyFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { verifyWebhook } from '../../src/demo/verify.js';
import { silentLogger } from '../../src/log.js';
import { deliveryQueue } from '../../src/queue/delivery-queue.js';
import { unfinishedJobs } from '../../src/queue/legacy-drain.js';
import { deliveryQueueName } from '../../src/queue/names.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { testConfig, testTarget } from '../helpers/config.js';
import { eventually } from '../helpers/gateway.js';
import { startReceiver, type ReceivedRequest, type Receiver } from '../helpers/receiver.js';
import { deletePrefix, freshPrefix, keysUnder, redisConnection } from '../helpers/redis.js';
import { FIXTURE_JOURNAL_DIR, readUpgradeFixture, restoreKeys } from './fixture.js';

const fixture = readUpgradeFixture();

let prefix: string;
let admin: Redis;
let sim: Simulator;
let receivers: Map<string, Receiver>;
let app: App | undefined;

beforeEach(async () => {
  prefix = freshPrefix('upgrade');
  admin = redisConnection();
  sim = await startSimulator({ heartbeatIntervalMs: 1_000 });
  receivers = new Map();
  for (const target of fixture.targets) receivers.set(target.id, await startReceiver());
});

afterEach(async () => {
  await app?.stop();
  app = undefined;
  for (const receiver of receivers.values()) await receiver.close();
  await sim.close();
  await deletePrefix(prefix, admin);
  admin.disconnect();
});

/** Each webhook-id a receiver got, with how many times. */
function countsById(requests: readonly ReceivedRequest[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const request of requests) {
    const id = String(request.headers['webhook-id']);
    counts[id] = (counts[id] ?? 0) + 1;
  }
  return counts;
}

/** Jobs not yet finished in a target's queue, in the old layout and in the current one. */
async function unfinished(targetId: string): Promise<number> {
  const old = await unfinishedJobs(admin, prefix, deliveryQueueName(targetId));
  const queue = deliveryQueue(targetId, prefix, admin);
  try {
    const counts = await queue.getJobCounts(
      'waiting',
      'active',
      'delayed',
      'prioritized',
      'waiting-children',
    );
    return old + Object.values(counts).reduce((sum, count) => sum + count, 0);
  } finally {
    await queue.close();
  }
}

describe('upgrading from the previous release', () => {
  it('holds values that name no key, so its keys replay under another prefix unchanged', () => {
    const base = fixture.prefix.slice(1, -1);
    expect(fixture.keys.length).toBeGreaterThan(0);
    for (const key of fixture.keys) expect(JSON.stringify(key.value), key.name).not.toContain(base);
    // the keys are the old layout's: under the bare prefix, not under a per-queue tag
    expect(fixture.keys.map((key) => key.name)).toContain(':deliver-backend:wait');
  });

  it('delivers every event its queues and its journal held exactly once, signed, and empties the journal', async () => {
    await restoreKeys(admin, prefix, fixture.keys);
    expect(await unfinishedJobs(admin, prefix, deliveryQueueName('backend'))).toBe(fixture.queued.length);
    const config = testConfig({
      simulatorOrigin: sim.origin,
      prefix,
      appId: fixture.appId,
      targets: fixture.targets.map((target) =>
        testTarget({
          id: target.id,
          events: target.events,
          url: receivers.get(target.id)!.url,
          secrets: [fixture.secret],
        }),
      ),
    });
    for (const file of await readdir(FIXTURE_JOURNAL_DIR)) {
      await copyFile(join(FIXTURE_JOURNAL_DIR, file), join(config.journal.dir, file));
    }
    expect((await stat(join(config.journal.dir, 'journal.jsonl'))).size).toBeGreaterThan(0);

    app = createApp({ config, role: 'all', withoutHttp: true, logger: silentLogger() });
    await app.start();
    const started = app;
    for (const target of fixture.targets) {
      await receivers.get(target.id)!.waitFor(fixture.expected[target.id]!.length, 20_000);
    }
    await eventually(() => started.health().journal.events === 0, 'journal drained', 10_000);
    for (const target of fixture.targets) {
      // once nothing is left to run in either layout's queue, no delivery can still come
      let left = -1;
      for (let tries = 0; tries < 100 && left !== 0; tries += 1) {
        left = await unfinished(target.id);
        if (left !== 0) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(left, `jobs left for ${target.id}`).toBe(0);
    }

    for (const target of fixture.targets) {
      const requests = receivers.get(target.id)!.requests;
      const once = Object.fromEntries(fixture.expected[target.id]!.map((id) => [id, 1]));
      expect(countsById(requests), target.id).toEqual(once);
      for (const request of requests) {
        const headers = {
          id: request.headers['webhook-id'] as string | undefined,
          timestamp: request.headers['webhook-timestamp'] as string | undefined,
          signature: request.headers['webhook-signature'] as string | undefined,
        };
        expect(verifyWebhook([fixture.secret], headers, Buffer.from(request.body, 'utf8'))).toEqual({
          ok: true,
        });
        expect(JSON.parse(request.body)).toMatchObject({ v: 1, id: headers.id, app_id: fixture.appId });
      }
    }
    await app.stop();
    app = undefined;
    expect((await stat(join(config.journal.dir, 'journal.jsonl'))).size).toBe(0);
    // nothing of the old layout is left to drain, and its jobs finished in place
    const oldWaiting = (await keysUnder(admin, prefix)).filter((key) => key.endsWith(':wait'));
    for (const key of oldWaiting) expect(await admin.llen(key), key).toBe(0);
  }, 60_000);
});
