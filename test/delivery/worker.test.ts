import { execFileSync } from 'node:child_process';
import type { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TargetConfig } from '../../src/config/types.js';
import type { AttemptResult } from '../../src/delivery/deliver.js';
import { startDeliveryWorkers, type DeliveryWorkers } from '../../src/delivery/worker.js';
import { silentLogger } from '../../src/log.js';
import type { AttemptRecord, DeliveryJobData } from '../../src/queue/job.js';
import { jobIdForEvent } from '../../src/queue/names.js';
import { deliveryQueue } from '../../src/queue/delivery-queue.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { onRedisUrl } from '../helpers/config.js';
import { captureLogs } from '../queue/journal-fixtures.js';
import {
  addDelivery,
  deletePrefix,
  makeConfig,
  makeTarget,
  redisConnection,
  startReceiver,
  uniquePrefix,
  waitFor,
  type Receiver,
} from './fixtures.js';

let prefix: string;
let admin: Redis;
const receivers: Receiver[] = [];
const queues: Queue<DeliveryJobData>[] = [];
const workers: DeliveryWorkers[] = [];

beforeEach(() => {
  prefix = uniquePrefix();
  admin = redisConnection();
});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.close(1000)));
  await Promise.all(queues.splice(0).map((q) => q.close()));
  await Promise.all(receivers.splice(0).map((r) => r.close()));
  await deletePrefix(prefix);
  await admin.quit();
});

async function receiver(...args: Parameters<typeof startReceiver>): Promise<Receiver> {
  const r = await startReceiver(...args);
  receivers.push(r);
  return r;
}

function queueFor(target: TargetConfig): Queue<DeliveryJobData> {
  const q = deliveryQueue(target.id, prefix, admin);
  queues.push(q);
  return q;
}

function start(
  targets: readonly TargetConfig[],
  onResult?: (id: string, r: AttemptResult, exhausted: boolean) => void,
): DeliveryWorkers {
  const w = startDeliveryWorkers({
    config: makeConfig(prefix, targets),
    logger: silentLogger(),
    ...(onResult ? { onResult } : {}),
  });
  workers.push(w);
  return w;
}

async function attemptLog(queue: Queue<DeliveryJobData>, eventId: string): Promise<AttemptRecord[]> {
  const { logs } = await queue.getJobLogs(jobIdForEvent(eventId));
  return logs.map((line) => JSON.parse(line) as AttemptRecord);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('startDeliveryWorkers', () => {
  it('retries 503, 503 and delivers on attempt 3 with the same webhook-id', async () => {
    const r = await receiver((_req, res, index) => {
      res.statusCode = index < 2 ? 503 : 200;
      res.end(index < 2 ? 'busy' : 'ok');
    });
    const target = makeTarget({ id: 'flaky', url: r.url });
    const results: AttemptResult[] = [];
    start([target], (id, result) => {
      expect(id).toBe('flaky');
      results.push(result);
    });
    const queue = queueFor(target);
    await addDelivery(queue, target, 'GROUP_ADD_ROBOT:retry3');

    await waitFor(
      async () => (await queue.getJobState(jobIdForEvent('GROUP_ADD_ROBOT:retry3'))) === 'completed',
    );
    expect(r.requests.map((req) => req.headers['x-qqwb-attempt'])).toEqual(['1', '2', '3']);
    expect(new Set(r.requests.map((req) => req.headers['webhook-id']))).toEqual(
      new Set(['GROUP_ADD_ROBOT:retry3']),
    );
    expect(results.map((x) => x.outcome)).toEqual(['retry', 'retry', 'delivered']);
    const log = await attemptLog(queue, 'GROUP_ADD_ROBOT:retry3');
    // failed attempts are in the job log; the successful one is the job's return value
    expect(log.map((x) => [x.attempt, x.status, x.outcome, x.errorCode])).toEqual([
      [1, 503, 'retry', 'HTTP_503'],
      [2, 503, 'retry', 'HTTP_503'],
    ]);
    expect(log[0]?.body).toBe('busy');
    const job = await queue.getJob(jobIdForEvent('GROUP_ADD_ROBOT:retry3'));
    expect(job?.returnvalue).toMatchObject({ attempt: 3, status: 200, outcome: 'delivered' });
  });

  it('waits at least Retry-After (2 s) after a 429 before the next attempt', async () => {
    const r = await receiver((_req, res, index) => {
      if (index === 0) res.writeHead(429, { 'retry-after': '2' });
      res.end();
    });
    const target = makeTarget({
      id: 'limited',
      url: r.url,
      retry: { attempts: 3, baseMs: 50, maxMs: 10_000 },
    });
    start([target]);
    const queue = queueFor(target);
    await addDelivery(queue, target, 'GROUP_ADD_ROBOT:ra');

    await waitFor(() => r.requests.length === 2, 8000);
    const gap = r.requests[1]!.arrivedAt - r.requests[0]!.arrivedAt;
    expect(gap).toBeGreaterThanOrEqual(1900);
  });

  it('dead-letters a 400 after exactly one attempt', async () => {
    const r = await receiver((_req, res) => {
      res.statusCode = 400;
      res.end('{"error":"bad payload"}');
    });
    const target = makeTarget({ id: 'strict', url: r.url, retry: { attempts: 5, baseMs: 10, maxMs: 100 } });
    start([target]);
    const queue = queueFor(target);
    await addDelivery(queue, target, 'GROUP_ADD_ROBOT:bad');

    const jobId = jobIdForEvent('GROUP_ADD_ROBOT:bad');
    await waitFor(async () => (await queue.getJobState(jobId)) === 'failed');
    await sleep(300);
    expect(r.requests).toHaveLength(1);
    const job = await queue.getJob(jobId);
    expect(job?.attemptsMade).toBe(1);
    expect(job?.failedReason).toBe('HTTP 400');
    expect(await attemptLog(queue, 'GROUP_ADD_ROBOT:bad')).toMatchObject([
      {
        attempt: 1,
        status: 400,
        outcome: 'rejected',
        errorCode: 'HTTP_400',
        body: '{"error":"bad payload"}',
      },
    ]);
  });

  it('dead-letters after the configured attempts when the target keeps failing', async () => {
    const r = await receiver((_req, res) => {
      res.statusCode = 502;
      res.end();
    });
    const target = makeTarget({ id: 'down', url: r.url, retry: { attempts: 3, baseMs: 20, maxMs: 50 } });
    const exhaustedFlags: boolean[] = [];
    start([target], (_id, _result, exhausted) => exhaustedFlags.push(exhausted));
    const queue = queueFor(target);
    await addDelivery(queue, target, 'GROUP_ADD_ROBOT:down');

    const jobId = jobIdForEvent('GROUP_ADD_ROBOT:down');
    await waitFor(async () => (await queue.getJobState(jobId)) === 'failed');
    expect(r.requests).toHaveLength(3);
    expect((await queue.getJob(jobId))?.attemptsMade).toBe(3);
    // only the last attempt is reported as the one that dead-letters the job (the metric's dead_lettered)
    expect(exhaustedFlags).toEqual([false, false, true]);
  });

  it('fails a job whose target is no longer configured, without contacting anyone', async () => {
    const r = await receiver();
    const target = makeTarget({ id: 'gone', url: r.url });
    const config = makeConfig(prefix, [target]);
    workers.push(startDeliveryWorkers({ config, logger: silentLogger() }));
    // Stand-in for a config reload that dropped the target while jobs were still queued.
    (config.targets as TargetConfig[]).length = 0;
    const queue = queueFor(target);
    await addDelivery(queue, target, 'GROUP_ADD_ROBOT:orphan');

    const jobId = jobIdForEvent('GROUP_ADD_ROBOT:orphan');
    await waitFor(async () => (await queue.getJobState(jobId)) === 'failed');
    expect((await queue.getJob(jobId))?.failedReason).toBe('target "gone" is not in the configuration');
    expect(r.requests).toHaveLength(0);
  });

  it('two worker processes on one queue deliver each of 50 jobs exactly once', async () => {
    const r = await receiver((_req, res) => {
      setTimeout(() => res.end('ok'), 10);
    });
    const target = makeTarget({ id: 'shared', url: r.url, concurrency: 3 });
    const byWorker = [0, 0];
    start([target], () => (byWorker[0]! += 1));
    start([target], () => (byWorker[1]! += 1));
    const queue = queueFor(target);
    for (let i = 0; i < 50; i += 1) await addDelivery(queue, target, `GROUP_ADD_ROBOT:n${i}`);

    await waitFor(async () => (await queue.getJobCounts('completed')).completed === 50, 15_000);
    await sleep(200);
    const ids = r.requests.map((req) => req.headers['webhook-id']);
    expect(ids).toHaveLength(50);
    expect(new Set(ids).size).toBe(50);
    expect(byWorker[0]! + byWorker[1]!).toBe(50);
    expect(byWorker[0]).toBeGreaterThan(0);
    expect(byWorker[1]).toBeGreaterThan(0);
  });

  it('a slow target does not delay a fast target', async () => {
    const slow = await receiver((_req, res) => {
      setTimeout(() => res.end('late'), 2000);
    });
    const fast = await receiver();
    const slowTarget = makeTarget({ id: 'slow', url: slow.url, concurrency: 1, timeoutMs: 5000 });
    const fastTarget = makeTarget({ id: 'fast', url: fast.url, concurrency: 2 });
    start([slowTarget, fastTarget]);
    const slowQueue = queueFor(slowTarget);
    const fastQueue = queueFor(fastTarget);
    const started = performance.now();
    for (let i = 0; i < 5; i += 1) await addDelivery(slowQueue, slowTarget, `GROUP_ADD_ROBOT:s${i}`);
    for (let i = 0; i < 10; i += 1) await addDelivery(fastQueue, fastTarget, `GROUP_ADD_ROBOT:f${i}`);

    await waitFor(() => fast.requests.length === 10, 5000);
    const fastDone = performance.now() - started;
    expect(fastDone).toBeLessThan(2000); // before the slow target has answered even once
    expect((await slowQueue.getJobCounts('completed')).completed).toBe(0);
  });

  it('applies the target rate limit', async () => {
    const r = await receiver();
    const target = makeTarget({
      id: 'metered',
      url: r.url,
      concurrency: 4,
      rateLimit: { max: 2, perMs: 1000 },
    });
    start([target]);
    const queue = queueFor(target);
    for (let i = 0; i < 4; i += 1) await addDelivery(queue, target, `GROUP_ADD_ROBOT:rl${i}`);

    await waitFor(() => r.requests.length === 4, 8000);
    const first = r.requests[0]!.arrivedAt;
    expect(r.requests[2]!.arrivedAt - first).toBeGreaterThanOrEqual(800);
  });

  it('close() lets an in-flight delivery finish within the grace period', async () => {
    const r = await receiver((_req, res) => {
      setTimeout(() => res.end('ok'), 300);
    });
    const target = makeTarget({ id: 'graceful', url: r.url });
    const w = start([target]);
    const queue = queueFor(target);
    await addDelivery(queue, target, 'GROUP_ADD_ROBOT:inflight');
    await waitFor(() => r.requests.length === 1);

    await w.close(3000);
    expect(await queue.getJobState(jobIdForEvent('GROUP_ADD_ROBOT:inflight'))).toBe('completed');
  });

  it('close() aborts what outlives the grace period and hands the job back without using an attempt', async () => {
    const r = await receiver(() => {
      // never respond
    });
    const target = makeTarget({ id: 'stuck', url: r.url, timeoutMs: 30_000 });
    const w = start([target]);
    const queue = queueFor(target);
    await addDelivery(queue, target, 'GROUP_ADD_ROBOT:stuck');
    await waitFor(() => r.requests.length === 1);

    const started = performance.now();
    await w.close(200);
    expect(performance.now() - started).toBeLessThan(2500);
    const jobId = jobIdForEvent('GROUP_ADD_ROBOT:stuck');
    expect(['delayed', 'waiting']).toContain(await queue.getJobState(jobId));
    expect((await queue.getJob(jobId))?.attemptsMade).toBe(0);
    expect(await attemptLog(queue, 'GROUP_ADD_ROBOT:stuck')).toMatchObject([
      { attempt: 1, outcome: 'retry', errorCode: 'BRIDGE_ERR_ABORTED' },
    ]);
  });

  it('a job handed back on shutdown is delivered later as the same attempt', async () => {
    const r = await receiver((_req, res, index) => {
      if (index === 0) return; // held until the shutdown aborts it
      res.end('ok');
    });
    const target = makeTarget({ id: 'handed-back', url: r.url, timeoutMs: 30_000 });
    const first = start([target]);
    const queue = queueFor(target);
    await addDelivery(queue, target, 'GROUP_ADD_ROBOT:handed-back');
    await waitFor(() => r.requests.length === 1);
    await first.close(200);

    start([target]);
    const jobId = jobIdForEvent('GROUP_ADD_ROBOT:handed-back');
    await waitFor(async () => (await queue.getJobState(jobId)) === 'completed');
    expect(r.requests.map((req) => req.headers['x-qqwb-attempt'])).toEqual(['1', '1']);
    expect((await queue.getJob(jobId))?.attemptsMade).toBe(1);
  });

  it('a hand-back that Redis refuses on shutdown costs no attempt: the job comes back with the attempts it had', async () => {
    // Its own Redis: the test makes it refuse writes for a moment, which must not reach other tests.
    const server = await startRedisServer();
    const redis = new Redis(server.url, { maxRetriesPerRequest: null });
    const queue = deliveryQueue('refused', prefix, redis);
    const logs = captureLogs();
    const stopped: DeliveryWorkers[] = [];
    try {
      /** `min-replicas-to-write 1` with no replica: Redis answers every write with NOREPLICAS, as in a failover. */
      const refuseWrites = (refuse: boolean): void => {
        execFileSync('redis-cli', [
          '-p',
          String(server.port),
          'CONFIG',
          'SET',
          'min-replicas-to-write',
          refuse ? '1' : '0',
        ]);
      };
      const r = await receiver((_req, res, index) => {
        if (index === 0)
          res.writeHead(503).end(); // attempt 1 fails
        else if (index === 1)
          return; // attempt 2 is in flight at the shutdown
        else res.end('ok');
      });
      const target = makeTarget({
        id: 'refused',
        url: r.url,
        timeoutMs: 30_000,
        retry: { attempts: 5, baseMs: 20, maxMs: 50 },
      });
      const base = makeConfig(prefix, [target]);
      const config = {
        ...base,
        redis: onRedisUrl(base, server.url).redis,
        // the lock outlives the shutdown (so the hand-back itself is what fails) and expires soon after
        delivery: { ...base.delivery, stallTimeoutMs: 3_000 },
      };
      let refusing = false;
      const first = startDeliveryWorkers({
        config,
        logger: logs.logger,
        // BullMQ draws the backoff jitter just before it writes a failed attempt. Writes are accepted again from
        // that moment, so if the refused hand-back were taken for a failed attempt, that write would succeed.
        random: () => {
          if (refusing) {
            refusing = false;
            refuseWrites(false);
          }
          return 0.5;
        },
      });
      stopped.push(first);
      await addDelivery(queue, target, 'GROUP_ADD_ROBOT:refused');
      await waitFor(() => r.requests.length === 2);

      refusing = true;
      refuseWrites(true);
      await first.close(200);
      const jobId = jobIdForEvent('GROUP_ADD_ROBOT:refused');
      if (refusing) refuseWrites(false);
      expect(await queue.getJobState(jobId)).toBe('active'); // still locked; nothing was recorded against it
      expect((await queue.getJob(jobId))?.attemptsMade).toBe(1);
      expect(
        logs.lines.filter((line) => line.msg.includes('could not be returned to the queue')),
      ).toMatchObject([
        {
          level: 40,
          eventId: 'GROUP_ADD_ROBOT:refused',
          attempt: 2,
          err: expect.stringContaining('NOREPLICAS'),
        },
      ]);

      // Once the lock expires, the stalled-job check queues it again and a worker delivers it as attempt 2.
      stopped.push(startDeliveryWorkers({ config, logger: silentLogger() }));
      await waitFor(async () => (await queue.getJobState(jobId)) === 'completed', 20_000);
      expect(r.requests.map((req) => req.headers['x-qqwb-attempt'])).toEqual(['1', '2', '2']);
      expect((await queue.getJob(jobId))?.attemptsMade).toBe(2);
    } finally {
      await Promise.all(stopped.map((w) => w.close(1000)));
      await queue.close();
      redis.disconnect();
      await server.cleanup();
    }
  }, 40_000);

  it('keeps many in-flight deliveries on its one shutdown signal without a listener-leak warning', async () => {
    // Regression: every in-flight delivery listens on the workers' shared shutdown signal; past Node's default
    // of 10 listeners an AbortSignal prints MaxListenersExceededWarning, which 2 targets × 8 slots crossed.
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => {
      warnings.push(warning);
    };
    process.on('warning', onWarning);
    try {
      const r = await receiver(() => {
        // hold every request open, so all 16 slots are in flight at once
      });
      const targets = ['wide-a', 'wide-b'].map((id) =>
        makeTarget({ id, url: r.url, concurrency: 8, timeoutMs: 30_000 }),
      );
      const w = start(targets);
      for (const target of targets) {
        const queue = queueFor(target);
        for (let i = 0; i < 8; i++) await addDelivery(queue, target, `GROUP_ADD_ROBOT:${target.id}-${i}`);
      }
      await waitFor(() => r.requests.length === 16, 8000);
      await w.close(100);
      await sleep(50); // process warnings are emitted on a later tick
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
