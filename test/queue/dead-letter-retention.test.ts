import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import type { BridgeConfig } from '../../src/config/types.js';
import { silentLogger } from '../../src/log.js';
import {
  startDeadLetterSweeper,
  trimDeadLetters,
  type DeadLetterSweeper,
} from '../../src/queue/dead-letter-retention.js';
import { openOutboundQueue } from '../../src/outbound/send-queue.js';
import { listDeadLetters } from '../../src/queue/dlq.js';
import { createMetrics } from '../../src/server/metrics.js';
import { waitFor } from '../delivery/fixtures.js';
import { groupMessage, startOutboundDeadLetters } from '../outbound/dead-letter-fixtures.js';
import { captureLogs } from './journal-fixtures.js';
import {
  backdateDeadLetter,
  backdateFailedJob,
  DAY_MS,
  startDeadLetterWorld,
  type DeadLetterWorld,
} from './dead-letter-fixtures.js';

let world: DeadLetterWorld;
const sweepers: DeadLetterSweeper[] = [];

beforeEach(async () => {
  world = await startDeadLetterWorld();
});

afterEach(async () => {
  await Promise.all(sweepers.splice(0).map((sweeper) => sweeper.stop()));
  await world.close();
});

async function failedIds(): Promise<string[]> {
  return (await listDeadLetters(world.queue, { limit: 1000 })).map((row) => row.eventId).sort();
}

/** The world's config with another retention; the target and queue stay the same. */
function withRetention(maxAgeMs: number, maxCount: number): BridgeConfig {
  return {
    ...world.config,
    delivery: { ...world.config.delivery, deadLetter: { maxAgeMs, maxCount } },
  };
}

/**
 * Six dead letters, each failed a different number of days ago (so "oldest" is unambiguous): 40, 9, 8, 3, 2 and 1.
 * Enqueued with the job options of today's producer, before any retention ran: as letters from before the
 * setting was introduced or changed.
 */
async function sixDeadLetters(): Promise<void> {
  const days = [40, 9, 8, 3, 2, 1];
  await world.deadLetter(...days.map((d) => `GROUP_ADD_ROBOT:${d}d`));
  const now = Date.now();
  for (const d of days) await backdateDeadLetter(world, `GROUP_ADD_ROBOT:${d}d`, now - d * DAY_MS);
}

/**
 * The bot's outbound queue with six dead letters (messages QQ refused), failed 40, 9, 8, 3, 2 and 1 days ago, and
 * the stand-in outbound worker that failed them; `close()` stops it.
 */
async function sixOutboundDeadLetters(): Promise<{
  ids: Record<number, string>;
  failedIds: () => Promise<string[]>;
  close: () => Promise<void>;
}> {
  const { appId } = world.config.qq;
  const outbound = startOutboundDeadLetters({ prefix: world.prefix, appId, connection: world.admin });
  const queue = openOutboundQueue(appId, world.prefix, world.admin);
  const ids: Record<number, string> = {};
  const now = Date.now();
  for (const d of [40, 9, 8, 3, 2, 1]) {
    ids[d] = await outbound.deadLetter(groupMessage(`${d}d`), ['refuse QQ_22009: message rejected']);
    await backdateFailedJob(world.admin, queue, ids[d], now - d * DAY_MS);
  }
  return {
    ids,
    failedIds: async () => (await queue.getFailed(0, -1)).map((job) => job.id ?? '').sort(),
    close: async () => {
      await queue.close();
      await outbound.close();
    },
  };
}

describe('trimDeadLetters', () => {
  it('deletes what failed longer ago than max_age, then the oldest beyond the newest max_count', async () => {
    await sixDeadLetters();
    expect(await trimDeadLetters(world.queue, { maxAgeMs: 7 * DAY_MS, maxCount: 2 })).toEqual({
      age: 3,
      count: 1,
    });
    expect(await failedIds()).toEqual(['GROUP_ADD_ROBOT:1d', 'GROUP_ADD_ROBOT:2d']);
    // The attempt log goes with the job.
    expect(await world.stateOf('GROUP_ADD_ROBOT:40d')).toBe('unknown');
    expect(await world.queue.getJobLogs('ev|GROUP_ADD_ROBOT|40d')).toEqual({ logs: [], count: 0 });
    // Within the retention: nothing to do.
    expect(await trimDeadLetters(world.queue, { maxAgeMs: 7 * DAY_MS, maxCount: 2 })).toEqual({
      age: 0,
      count: 0,
    });
  });

  it('keeps exactly max_count when more than one batch is over it', async () => {
    const ids = Array.from({ length: 1_205 }, (_, i) => `GROUP_ADD_ROBOT:bulk-${i}`);
    await world.deadLetter(...ids);
    expect(await trimDeadLetters(world.queue, { maxAgeMs: 7 * DAY_MS, maxCount: 3 })).toEqual({
      age: 0,
      count: 1_202,
    });
    expect(await world.queue.getFailedCount()).toBe(3);
  });
});

describe('startDeadLetterSweeper', () => {
  it('trims each target at once and on every interval, counting and logging what it deleted and why', async () => {
    await sixDeadLetters();
    const metrics = createMetrics();
    const { logger, lines } = captureLogs();
    sweepers.push(
      startDeadLetterSweeper({
        config: withRetention(7 * DAY_MS, 2),
        connection: world.admin,
        logger,
        intervalMs: 100,
        onTrimmed: (target, reason, count) => metrics.deadLettersTrimmed(target, reason, count),
      }),
    );
    await waitFor(async () => (await world.queue.getFailedCount()) === 2);
    expect(await failedIds()).toEqual(['GROUP_ADD_ROBOT:1d', 'GROUP_ADD_ROBOT:2d']);

    // Letters that fail later are trimmed by a later sweep.
    await world.enqueue('GROUP_ADD_ROBOT:later');
    await waitFor(async () => (await failedIds()).join() === 'GROUP_ADD_ROBOT:1d,GROUP_ADD_ROBOT:later');

    const text = await metrics.render();
    expect(text).toContain('qqwb_dead_letters_trimmed_total{target="backend",reason="age"} 3');
    expect(text).toContain('qqwb_dead_letters_trimmed_total{target="backend",reason="count"} 2');
    const trims = lines.filter((line) => line['component'] === 'dead-letter-retention' && line.level === 30);
    expect(trims.map(({ targetId, reason, deleted, msg }) => ({ targetId, reason, deleted, msg }))).toEqual([
      {
        targetId: 'backend',
        reason: 'age',
        deleted: 3,
        msg:
          'deleted 3 dead letters of target backend that failed more than 7d ago (delivery.dead_letter.max_age); ' +
          'replay dead letters sooner or raise the setting to keep them longer',
      },
      {
        targetId: 'backend',
        reason: 'count',
        deleted: 1,
        msg:
          'deleted the 1 oldest dead letters of target backend, over the 2 it keeps ' +
          '(delivery.dead_letter.max_count); the target refuses deliveries, see dlq list',
      },
      expect.objectContaining({ reason: 'count', deleted: 1 }),
    ]);
  });

  it("trims the bot's outbound queue to the same retention, with its own metric and log lines", async () => {
    await sixDeadLetters();
    const outbound = await sixOutboundDeadLetters();
    try {
      const metrics = createMetrics();
      const { logger, lines } = captureLogs();
      sweepers.push(
        startDeadLetterSweeper({
          config: withRetention(7 * DAY_MS, 2),
          connection: world.admin,
          logger,
          onTrimmed: (target, reason, count) => metrics.deadLettersTrimmed(target, reason, count),
          onOutboundTrimmed: (reason, count) => metrics.outboundDeadLettersTrimmed(reason, count),
        }),
      );
      await waitFor(async () => (await outbound.failedIds()).length === 2);
      expect(await outbound.failedIds()).toEqual([outbound.ids[1], outbound.ids[2]].sort());
      await waitFor(async () => (await world.queue.getFailedCount()) === 2);

      const text = await metrics.render();
      expect(text).toContain('qqwb_outbound_dead_letters_trimmed_total{reason="age"} 3');
      expect(text).toContain('qqwb_outbound_dead_letters_trimmed_total{reason="count"} 1');
      // Each queue counted apart: the targets' metric holds only the target's own letters.
      expect(text).toContain('qqwb_dead_letters_trimmed_total{target="backend",reason="age"} 3');
      expect(text).toContain('qqwb_dead_letters_trimmed_total{target="backend",reason="count"} 1');
      const trims = lines.filter((line) => line['component'] === 'dead-letter-retention' && line['queue']);
      expect(trims.map(({ queue, reason, deleted, msg }) => ({ queue, reason, deleted, msg }))).toEqual([
        {
          queue: 'outbound-102000000',
          reason: 'age',
          deleted: 3,
          msg:
            'deleted 3 dead letters of the outbound queue that failed more than 7d ago ' +
            '(delivery.dead_letter.max_age); replay dead letters sooner or raise the setting to keep them longer',
        },
        {
          queue: 'outbound-102000000',
          reason: 'count',
          deleted: 1,
          msg:
            'deleted the 1 oldest dead letters of the outbound queue, over the 2 it keeps ' +
            "(delivery.dead_letter.max_count); QQ refuses the bot's replies and sends, see dlq list --outbound",
        },
      ]);
    } finally {
      await outbound.close();
    }
  });

  it('leaves a target another worker process trimmed within the interval alone', async () => {
    await sixDeadLetters();
    const { logger, lines } = captureLogs();
    const config = withRetention(7 * DAY_MS, 100);
    const first = startDeadLetterSweeper({ config, connection: world.admin, logger, intervalMs: 60_000 });
    sweepers.push(first);
    await waitFor(async () => (await world.queue.getFailedCount()) === 3);

    const second = startDeadLetterSweeper({
      config: withRetention(7 * DAY_MS, 1),
      connection: world.admin,
      logger,
      intervalMs: 60_000,
    });
    sweepers.push(second);
    await waitFor(() => lines.some((line) => line.msg.includes('trimmed by another worker process')));
    expect(await world.queue.getFailedCount()).toBe(3);
  });

  it('stops: no sweep after stop() resolves, and the queue handles are closed', async () => {
    const sweeper = startDeadLetterSweeper({
      config: withRetention(7 * DAY_MS, 1),
      connection: world.admin,
      logger: silentLogger(),
      intervalMs: 20,
    });
    await sweeper.stop();
    await world.deadLetter('GROUP_ADD_ROBOT:a', 'GROUP_ADD_ROBOT:b');
    // Several intervals pass; a timer left running would have trimmed to one.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await world.queue.getFailedCount()).toBe(2);
  });
});

describe('the worker role', () => {
  it('runs the sweeper with the configured retention and exposes the metrics', async () => {
    await sixDeadLetters();
    const outbound = await sixOutboundDeadLetters();
    const app = createApp({
      config: withRetention(30 * DAY_MS, 4),
      role: 'worker',
      logger: silentLogger(),
      withoutHttp: true,
    });
    try {
      await app.start();
      await waitFor(async () => (await world.queue.getFailedCount()) === 4);
      expect(await failedIds()).toEqual([
        'GROUP_ADD_ROBOT:1d',
        'GROUP_ADD_ROBOT:2d',
        'GROUP_ADD_ROBOT:3d',
        'GROUP_ADD_ROBOT:8d',
      ]);
      const text = await app.metrics.render();
      expect(text).toContain('qqwb_dead_letters_trimmed_total{target="backend",reason="age"} 1');
      expect(text).toContain('qqwb_dead_letters_trimmed_total{target="backend",reason="count"} 1');
      await waitFor(async () => (await outbound.failedIds()).length === 4);
      expect(await outbound.failedIds()).toEqual([1, 2, 3, 8].map((d) => outbound.ids[d]).sort());
      const after = await app.metrics.render();
      expect(after).toContain('qqwb_outbound_dead_letters_trimmed_total{reason="age"} 1');
      expect(after).toContain('qqwb_outbound_dead_letters_trimmed_total{reason="count"} 1');
    } finally {
      await app.stop();
      await outbound.close();
    }
  });
});
