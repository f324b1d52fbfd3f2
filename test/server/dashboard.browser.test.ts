/**
 * The queue dashboard in a real browser: log in with the admin token, see every target's queue and the bot's
 * outbound queue, open a dead-lettered delivery, press Retry, and check in Redis that the job left the failed
 * set; open a failed reply and read QQ's reason and its attempt log.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoEvents } from '../../src/demo/events.js';
import { startDeliveryWorkers } from '../../src/delivery/worker.js';
import { EVENT_CATALOG } from '../../src/events/catalog.js';
import { normalize } from '../../src/events/normalize.js';
import { silentLogger } from '../../src/log.js';
import { outboundQueueName } from '../../src/outbound/send-queue.js';
import { DeliveryProducer } from '../../src/queue/producer.js';
import { jobIdForEvent } from '../../src/queue/names.js';
import { createDashboard, type DashboardRoutes } from '../../src/server/dashboard.js';
import { createHttpServer, type HttpServer } from '../../src/server/http.js';
import { createMetrics } from '../../src/server/metrics.js';
import { deliveryQueue } from '../../src/queue/delivery-queue.js';
import { testConfig, testTarget } from '../helpers/config.js';
import { eventually } from '../helpers/gateway.js';
import { groupMessage, startOutboundDeadLetters } from '../outbound/dead-letter-fixtures.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { deletePrefix, freshPrefix, redisConnection } from '../helpers/redis.js';

const CHROMIUM = '/usr/bin/chromium';
const HAS_CHROMIUM = existsSync(CHROMIUM);
/** Rewritten only with UPDATE_SCREENSHOT=1, so a test run leaves the work tree clean. */
const SCREENSHOT = fileURLToPath(new URL('../../docs/dashboard.png', import.meta.url));
const TOKEN = 'dashboard-test-admin-token-7f3a';
const FAILED_EVENT = 'GROUP_ADD_ROBOT:39ab91b8-36ee-44d6-80e9-4447a2f2c571';
const APP_ID = '102000000';
const OUTBOUND_QUEUE = outboundQueueName(APP_ID);

/** Polls an async condition every 50 ms; fails naming `what` after `timeoutMs`. */
async function until(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.skipIf(!HAS_CHROMIUM)(
  `queue dashboard in Chromium${HAS_CHROMIUM ? '' : ` (skipped: ${CHROMIUM} is missing; apt-get install -y chromium)`}`,
  () => {
    const prefix = freshPrefix('dashboard');
    let redis: Redis;
    const cleanups: (() => Promise<unknown>)[] = [];
    let base = '';
    let profile = '';
    let context: BrowserContext;
    /** The outbound id of a passive reply QQ refused as expired. */
    let failedReply = '';

    beforeAll(async () => {
      redis = redisConnection();
      cleanups.push(() => deletePrefix(prefix));
      cleanups.push(() => Promise.resolve(redis.disconnect()));
      const rejecting: Receiver = await startReceiver(() => ({
        status: 400,
        body: '{"error":"unknown group"}',
      }));
      const accepting: Receiver = await startReceiver();
      cleanups.push(
        () => rejecting.close(),
        () => accepting.close(),
      );
      const config = testConfig({
        prefix,
        targets: [
          testTarget({ id: 'backend', url: rejecting.url, events: ['group.*'] }),
          testTarget({ id: 'analytics', url: accepting.url }),
        ],
      });

      // Real deliveries: the backend answers 400, so its group events are dead-lettered with an attempt log.
      const producer = new DeliveryProducer({
        connection: redis,
        prefix,
        targets: config.targets,
        dedupeWindowMs: 60_000,
      });
      const events = demoEvents(Object.keys(EVENT_CATALOG)).slice(0, 6);
      for (const [i, { t, d }] of events.entries()) {
        const id = i === 0 ? FAILED_EVENT : `${t}:${String(i).padStart(8, '0')}-demo`;
        const frame = { op: 0 as const, s: i + 1, t, id, d };
        await producer.enqueue(
          normalize(frame, { appId: '102000000', shard: [0, 1], receivedAt: new Date() }),
        );
      }
      await producer.close();
      const workers = startDeliveryWorkers({ config, logger: silentLogger() });
      await eventually(() => rejecting.requests.length >= 6 && accepting.requests.length >= 6, 'deliveries');
      const backend = deliveryQueue('backend', prefix, redis);
      await until(async () => (await backend.getFailedCount()) === 6, 'six dead letters');
      await workers.close(1_000);
      await backend.close();

      // A real failed reply in the bot's outbound queue, with its attempt log.
      const outbound = startOutboundDeadLetters({ prefix, appId: APP_ID, connection: redis });
      failedReply = await outbound.deadLetter(
        groupMessage('hello group', { msgId: 'MSG_1', source: 'reply', deadline: Date.now() + 300_000 }),
        ['refuse QQ_40034005: passive reply expired'],
      );
      await outbound.close();

      const dashboard: DashboardRoutes = createDashboard({
        targets: config.targets,
        appId: APP_ID,
        prefix,
        connection: redis,
      });
      const server: HttpServer = createHttpServer({
        config: { host: '127.0.0.1', port: 0, adminToken: TOKEN, apiTokens: [] },
        metrics: createMetrics(),
        health: () => Promise.reject(new Error('not used')),
        logger: silentLogger(),
        adminRoutes: dashboard,
      });
      const { host, port } = await server.listen();
      base = `http://${host}:${port}`;
      cleanups.push(
        () => dashboard.close(),
        () => server.close(),
      );

      profile = await mkdtemp(join(tmpdir(), 'qqwb-chromium-'));
      cleanups.push(() => rm(profile, { recursive: true, force: true }));
      context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
        viewport: { width: 1280, height: 760 },
      });
      cleanups.push(() => context.close());
    }, 60_000);

    afterAll(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup();
    });

    async function logIn(page: Page): Promise<void> {
      await page.goto(`${base}/admin/login`);
      await page.fill('#token', TOKEN);
      await page.click('button[type=submit]');
      await page.waitForURL(`${base}/admin/queues/`);
    }

    it('refuses the dashboard to a browser without the admin token', async () => {
      const page = await context.newPage();
      const response = await page.goto(`${base}/admin/queues/`);
      expect(response?.status()).toBe(401);
      await expect(page.locator('a[href="/admin/login"]').count()).resolves.toBe(1);
      await page.close();
    });

    it('logs in, lists every target queue, retries a dead-lettered delivery and the job leaves the failed set', async () => {
      const page = await context.newPage();
      await logIn(page);
      const cookies = await context.cookies(`${base}/admin/queues/`);
      expect(cookies.find((c) => c.name === 'qqwb_admin')).toMatchObject({
        httpOnly: true,
        sameSite: 'Strict',
      });
      await page.getByText('deliver-backend').first().waitFor();
      await page.getByText('deliver-analytics').first().waitFor();
      await page.getByText(OUTBOUND_QUEUE).first().waitFor();

      const jobId = jobIdForEvent(FAILED_EVENT);
      await page.goto(`${base}/admin/queues/queue/deliver-backend?status=failed`);
      await page.getByText(jobId).first().waitFor();
      await page.getByText('HTTP 400').first().waitFor();
      // The attempt log is what an operator opens a dead letter for: status, latency, the target's answer.
      await page.getByRole('tab', { name: 'Logs' }).first().click();
      await page.getByText('unknown group').first().waitFor();
      const screenshot =
        process.env['UPDATE_SCREENSHOT'] === '1' ? SCREENSHOT : join(profile, 'dashboard.png');
      await mkdir(dirname(screenshot), { recursive: true });
      await page.screenshot({ path: screenshot });

      await page.getByText(jobId).first().click();
      await page.waitForURL(/\/admin\/queues\/queue\/deliver-backend\/ev%7CGROUP_ADD_ROBOT/);
      const retry = page.locator('button:has(svg.lucide-refresh-cw)').first();
      await retry.waitFor();
      await retry.click();
      await page.getByText('Are you sure that you want to retry this job?').waitFor();
      await page.getByRole('button', { name: 'Confirm' }).click();

      const backend = deliveryQueue('backend', prefix, redis);
      try {
        await until(async () => (await backend.getJobState(jobId)) !== 'failed', `${jobId} to leave failed`);
        expect(await backend.getJobState(jobId)).toBe('waiting');
        const failed = await redis.zscore(backend.toKey('failed'), jobId);
        expect(failed).toBeNull();
        expect(await backend.getFailedCount()).toBe(5);
      } finally {
        await backend.close();
      }
      await page.close();
    });

    it("shows a failed reply in the bot's outbound queue with QQ's reason and its attempt log", async () => {
      const page = await context.newPage();
      await logIn(page);
      await page.goto(`${base}/admin/queues/queue/${OUTBOUND_QUEUE}?status=failed`);
      await page.getByText(failedReply).first().waitFor();
      await page.getByText('QQ_40034005: passive reply expired').first().waitFor();
      // The body sent to QQ, with the msg_seq the producer allocated.
      await page.getByRole('tab', { name: 'Data' }).first().click();
      await page.getByText('"hello group"').first().waitFor();
      expect(await page.locator('body').innerText()).toContain('msg_seq:1');
      await page.getByRole('tab', { name: 'Logs' }).first().click();
      await page.getByText('"outcome":"failed"').first().waitFor();
      await page.close();
    });
  },
);
