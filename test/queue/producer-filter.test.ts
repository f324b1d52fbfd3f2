import { afterEach, describe, expect, it } from 'vitest';
import { startIngestPipeline } from '../../src/ingest-pipeline.js';
import { silentLogger } from '../../src/log.js';
import { Journal } from '../../src/queue/journal.js';
import { createMetrics } from '../../src/server/metrics.js';
import { makeConfig, makeTarget } from '../delivery/fixtures.js';
import { deletePrefix, freshPrefix, redisConnection } from '../helpers/redis.js';
import { captureLogs, journalEntry, range, tempDir } from './journal-fixtures.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

describe('events a target filter drops', () => {
  it('are counted in qqwb_events_filtered_total{target} and logged at debug with the patterns', async () => {
    const prefix = freshPrefix('filtered');
    cleanups.push(() => deletePrefix(prefix));
    const redis = redisConnection();
    cleanups.push(() => redis.quit());
    const dir = await tempDir('filtered-journal');
    cleanups.push(dir.remove);
    const journal = await Journal.open({ dir: dir.path, maxBytes: 1024 * 1024, logger: silentLogger() });
    cleanups.push(() => journal.close());
    const targets = [
      makeTarget({ id: 'groups', url: 'http://127.0.0.1:9/groups', events: ['group.*'] }),
      makeTarget({ id: 'direct', url: 'http://127.0.0.1:9/direct', events: ['c2c.*', 'FRIEND_ADD'] }),
    ];
    const metrics = createMetrics();
    const logs = captureLogs();
    const pipeline = startIngestPipeline({
      config: makeConfig(prefix, targets),
      redis,
      journal,
      metrics,
      logger: logs.logger,
    });
    cleanups.push(() => pipeline.stop());

    // GROUP_ADD_ROBOT is group.bot.added: wanted by "groups", dropped by "direct"'s filter
    await pipeline.accept(
      range(1, 3).map((n) => journalEntry(n, 'filtered').frame),
      [0, 1],
    );

    const text = await metrics.render();
    expect(text).toContain('# TYPE qqwb_events_filtered_total counter');
    expect(text).toMatch(/^qqwb_events_filtered_total\{target="direct"\} 3$/m);
    expect(text).not.toMatch(/^qqwb_events_filtered_total\{target="groups"\}/m);
    expect(text).toMatch(/^qqwb_events_enqueued_total\{target="groups"\} 3$/m);
    const dropped = logs.lines.filter((line) => line.level === 20 && line.targetId === 'direct');
    expect(dropped).toHaveLength(3);
    expect(dropped[0]).toMatchObject({
      type: 'group.bot.added',
      qqType: 'GROUP_ADD_ROBOT',
      events: ['c2c.*', 'FRIEND_ADD'],
      msg:
        'event group.bot.added (GROUP_ADD_ROBOT) not sent to target "direct": its filter does not match ' +
        '(events: ["c2c.*","FRIEND_ADD"])',
    });
  });
});
