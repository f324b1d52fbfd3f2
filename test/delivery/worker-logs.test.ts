import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TargetConfig } from '../../src/config/types.js';
import { startDeliveryWorkers, type DeliveryWorkers } from '../../src/delivery/worker.js';
import type { DeliveryJobData } from '../../src/queue/job.js';
import { deliveryQueue } from '../../src/queue/delivery-queue.js';
import { jobIdForEvent } from '../../src/queue/names.js';
import { captureLogs, type CapturedLogs } from '../queue/journal-fixtures.js';
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
const cleanups: (() => Promise<unknown>)[] = [];

beforeEach(() => {
  prefix = uniquePrefix();
  admin = redisConnection();
});

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
  await deletePrefix(prefix);
  await admin.quit();
});

async function receiver(...args: Parameters<typeof startReceiver>): Promise<Receiver> {
  const r = await startReceiver(...args);
  cleanups.push(() => r.close());
  return r;
}

function queueFor(target: TargetConfig): Queue<DeliveryJobData> {
  const q = deliveryQueue(target.id, prefix, admin);
  cleanups.push(() => q.close());
  return q;
}

function start(
  targets: readonly TargetConfig[],
  logs: CapturedLogs,
  summaryIntervalMs?: number,
  random?: () => number,
): DeliveryWorkers {
  const w = startDeliveryWorkers({
    config: makeConfig(prefix, targets),
    logger: logs.logger,
    ...(summaryIntervalMs === undefined ? {} : { summaryIntervalMs }),
    ...(random ? { random } : {}),
  });
  cleanups.push(() => w.close(1000));
  return w;
}

const WARN = 40;
const ERROR = 50;
const INFO = 30;

describe('delivery log lines', () => {
  it('a rejected signature names the target, host, status, attempt, the secret and the body', async () => {
    const r = await receiver((_req, res) => {
      res.statusCode = 401;
      res.end('{"error":"invalid signature"}');
    });
    const target = makeTarget({ id: 'orders', url: `${r.url}/hooks?token=tok-in-query` });
    const logs = captureLogs();
    start([target], logs);
    await addDelivery(queueFor(target), target, 'GROUP_ADD_ROBOT:sig');

    await waitFor(() => logs.lines.some((line) => line.level === ERROR && line.targetId === 'orders'));
    const line = logs.lines.find((l) => l.level === ERROR && l.targetId === 'orders')!;
    const host = new URL(r.url).host;
    expect(line.msg).toMatch(
      new RegExp(
        `^delivery to "orders" \\(${host}\\) rejected: HTTP 401 Unauthorized after \\d+ ms, attempt 1 of 5; ` +
          "dead-lettered without retrying — the receiver rejected the signature: check the target's secret",
      ),
    );
    expect(line).toMatchObject({
      eventId: 'GROUP_ADD_ROBOT:sig',
      host,
      attempt: 1,
      attempts: 5,
      status: 401,
      code: 'HTTP_401',
      body: '{"error":"invalid signature"}',
      hint: expect.stringContaining('targets[].secret') as unknown,
    });
    expect(typeof line.latencyMs).toBe('number');
    expect(JSON.stringify(logs.lines)).not.toContain('tok-in-query');
  });

  it('a retry says when the next attempt is due, and the body goes through the scrubbing', async () => {
    const r = await receiver((_req, res, index) => {
      res.statusCode = index === 0 ? 503 : 200;
      res.end(index === 0 ? 'down, see https://admin:pa55word@status.example/x?api_key=k3y' : 'ok');
    });
    const target = makeTarget({ id: 'flaky', url: r.url, retry: { attempts: 3, baseMs: 50, maxMs: 200 } });
    const logs = captureLogs();
    let draws = 0;
    start([target], logs, undefined, () => {
      draws++;
      return 0.5;
    });
    const queue = queueFor(target);
    await addDelivery(queue, target, 'GROUP_ADD_ROBOT:again');
    await waitFor(
      async () => (await queue.getJobState(jobIdForEvent('GROUP_ADD_ROBOT:again'))) === 'completed',
    );

    const retry = logs.lines.find((l) => l.level === WARN && l.targetId === 'flaky')!;
    expect(retry.msg).toMatch(
      /failed: HTTP 503 Service Unavailable after \d+ ms, attempt 1 of 3; will retry at \d{4}-\d\d-\d\dT[\d:.]+Z — the receiver failed with an error of its own/,
    );
    expect(retry.nextRetryAt).toBe(/will retry at (\S+)/.exec(retry.msg)![1]);
    expect(Date.parse(retry.nextRetryAt as string)).toBeGreaterThanOrEqual(retry['time'] as number);
    expect(retry.body).toBe('down, see https://[redacted]@status.example/x?api_key=[redacted]');
    expect(JSON.stringify(logs.lines)).not.toMatch(/pa55word|k3y/);
    // The delay is drawn once, when the line is written, and the backoff uses that one: the announced time is real.
    expect(draws).toBe(1);
  });

  it("real network failures carry their code and hint: the SSRF guard's refusal and a closed port", async () => {
    const closed = await startReceiver();
    await closed.close();
    const guarded = makeTarget({ id: 'guarded', url: 'http://127.0.0.1:9/in', allowPrivate: false });
    const refused = makeTarget({
      id: 'refused',
      url: closed.url,
      retry: { attempts: 1, baseMs: 10, maxMs: 10 },
    });
    const logs = captureLogs();
    start([guarded, refused], logs);
    await addDelivery(queueFor(guarded), guarded, 'GROUP_ADD_ROBOT:ssrf');
    await addDelivery(queueFor(refused), refused, 'GROUP_ADD_ROBOT:refused');

    const errorOf = (targetId: string) =>
      logs.lines.find((l) => l.level === ERROR && l.targetId === targetId);
    await waitFor(() => errorOf('guarded') !== undefined && errorOf('refused') !== undefined);
    expect(errorOf('guarded')).toMatchObject({ code: 'BRIDGE_ERR_SSRF_BLOCKED', attempt: 1 });
    expect(errorOf('guarded')!.msg).toMatch(
      /^delivery to "guarded" \(127\.0\.0\.1:9\) rejected: BRIDGE_ERR_SSRF_BLOCKED \(.*\) after \d+ ms, attempt 1 of 5; dead-lettered without retrying — .*set allow_private: true on the target if this private address is intended$/,
    );
    const port = new URL(closed.url).port;
    expect(errorOf('refused')).toMatchObject({ code: 'ECONNREFUSED', attempt: 1, attempts: 1 });
    expect(errorOf('refused')!.msg).toMatch(
      new RegExp(
        `^delivery to "refused" \\(127\\.0\\.0\\.1:${port}\\) failed: ECONNREFUSED \\(.*\\) after \\d+ ms, ` +
          `attempt 1 of 1; no attempt left; dead-lettered — nothing listens at 127\\.0\\.0\\.1:${port}:`,
      ),
    );
  });

  it('summarizes deliveries per target at info; a single delivery is only at debug', async () => {
    const ok = await receiver();
    const bad = await receiver((_req, res) => {
      res.statusCode = 400;
      res.end();
    });
    const good = makeTarget({ id: 'good', url: ok.url });
    const strict = makeTarget({ id: 'strict', url: bad.url });
    const logs = captureLogs();
    start([good, strict], logs, 50);
    for (let i = 0; i < 3; i++) await addDelivery(queueFor(good), good, `GROUP_ADD_ROBOT:s${i}`);
    await addDelivery(queueFor(strict), strict, 'GROUP_ADD_ROBOT:s-bad');

    const summaries = (targetId: string) =>
      logs.lines.filter((l) => l.level === INFO && l.targetId === targetId && 'delivered' in l);
    const total = (targetId: string, field: string) =>
      summaries(targetId).reduce((sum, l) => sum + (l[field] as number), 0);
    await waitFor(() => total('good', 'delivered') === 3 && total('strict', 'deadLettered') === 1);
    expect(summaries('good')[0]!.msg).toMatch(
      /^target "good": [1-3] delivered, 0 retried, 0 dead-lettered in the last \d+ ms \(latency p50 \d+ ms, max \d+ ms\)$/,
    );
    expect(total('strict', 'delivered')).toBe(0);
    const perDelivery = logs.lines.filter((l) => l.msg === 'delivered');
    expect(perDelivery).toHaveLength(3);
    expect(perDelivery.every((l) => l.level === 20)).toBe(true);
  });
});
