/**
 * The outbound worker after an upgrade from the shared key layout: a message an earlier version queued under the
 * old names (BullMQ prefix `redis.prefix` itself) is still sent, once.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import type { OutboundJobData } from '../../src/outbound/message.js';
import { OUTBOUND_BACKOFF_TYPE, outboundQueueName } from '../../src/outbound/send-queue.js';
import { startOutboundWorker, type OutboundWorker } from '../../src/outbound/worker.js';
import { AccessTokenManager } from '../../src/qq/access-token.js';
import { unfinishedJobs } from '../../src/queue/legacy-drain.js';
import { waitFor } from '../delivery/fixtures.js';
import { testConfig } from '../helpers/config.js';
import { deletePrefix, freshPrefix, redisConnection } from '../helpers/redis.js';
import { json, startFakeQq, type FakeQq } from './fake-qq.js';

const APP_ID = '102000000';

let prefix: string;
let admin: Redis;
let workerConnection: Redis;
let qq: FakeQq;
let oldQueue: Queue<OutboundJobData>;
let worker: OutboundWorker | undefined;
let tokens: AccessTokenManager | undefined;

beforeEach(async () => {
  prefix = freshPrefix('outlegacy');
  admin = redisConnection();
  workerConnection = redisConnection({ worker: true });
  qq = await startFakeQq();
  oldQueue = new Queue<OutboundJobData>(outboundQueueName(APP_ID), { connection: admin, prefix });
});

afterEach(async () => {
  await worker?.close(500);
  tokens?.stop();
  await oldQueue.close();
  await qq.close();
  await deletePrefix(prefix);
  workerConnection.disconnect();
  await admin.quit();
});

describe('the outbound worker and the old key layout', () => {
  it('sends a message queued under the old names exactly once', async () => {
    const id = 'ob_0123456789abcdef0123456789abcdef';
    await oldQueue.add(
      'message',
      {
        kind: 'message',
        id,
        scene: 'group',
        openid: 'G1',
        body: { content: 'queued before the upgrade', msg_type: 0, msg_id: 'M1', msg_seq: 1 },
        source: 'api',
        enqueuedAt: Date.now(),
      },
      { jobId: id, attempts: 3, backoff: { type: OUTBOUND_BACKOFF_TYPE }, removeOnFail: false },
    );
    qq.answer((_req, res) => json(res, 200, { id: 'qq-msg-1', timestamp: 1_700_000_123 }));
    const config = testConfig({ simulatorOrigin: qq.origin, prefix, appId: APP_ID });
    tokens = new AccessTokenManager({
      tokenUrl: config.qq.tokenUrl,
      appId: APP_ID,
      clientSecret: 'secret',
      logger: silentLogger(),
    });
    worker = startOutboundWorker({
      config,
      connection: workerConnection,
      tokens,
      logger: silentLogger(),
      legacyDrainIntervalMs: 100,
    });

    await waitFor(async () => (await oldQueue.getJobState(id)) === 'completed');
    await waitFor(async () => (await unfinishedJobs(admin, prefix, oldQueue.name)) === 0);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(qq.calls()).toHaveLength(1);
    expect(JSON.parse(qq.calls()[0]!.body)).toMatchObject({
      content: 'queued before the upgrade',
      msg_seq: 1,
    });
    expect((await oldQueue.getJob(id))?.returnvalue).toMatchObject({ qqId: 'qq-msg-1' });
  });
});
