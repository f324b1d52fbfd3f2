import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import express from 'express';
import type { RedisClient } from '../redis/client.js';
import type { TargetConfig } from '../config/types.js';
import { openOutboundQueue } from '../outbound/send-queue.js';
import { deliveryQueue } from '../queue/delivery-queue.js';
import { LOGOUT_PATH } from './admin-login.js';
import type { AdminRoutes } from './http.js';
import { parseRequestTarget } from '../util/request-target.js';

/** Where the dashboard lives; everything under it is Bull Board's. */
export const DASHBOARD_PATH = '/admin/queues';

/** Options of {@link createDashboard}. */
export interface DashboardOptions {
  /** The configured targets; the dashboard shows one queue per target. */
  readonly targets: readonly Pick<TargetConfig, 'id'>[];
  /** `qq.app_id`: the dashboard also shows the bot's outbound queue (replies and sends to QQ). */
  readonly appId: string;
  /** `redis.prefix`, which the delivery and outbound queues live under. */
  readonly prefix: string;
  /**
   * A connection the dashboard may share (it is neither duplicated nor closed here). It is first used on the first
   * dashboard request, so it may still be connecting when the dashboard is built.
   */
  readonly connection: RedisClient;
}

/** The dashboard's {@link AdminRoutes}, plus `close()` for its queue handles (the connection stays open). */
export type DashboardRoutes = AdminRoutes & { close(): Promise<void> };

/**
 * The admin queue dashboard: Bull Board over every target's delivery queue and the bot's outbound queue at
 * {@link DASHBOARD_PATH}, where an operator sees waiting, delayed and failed (dead-lettered) deliveries and
 * messages to QQ, reads each attempt's log, and retries or removes jobs. Pass the result as `adminRoutes` to `createHttpServer`, which has already checked the admin token
 * (Bearer header or login cookie) by the time a request gets here.
 *
 * Queues are opened on the first request, not here, so building the app does no Redis I/O.
 */
export function createDashboard(options: DashboardOptions): DashboardRoutes {
  let queues: Queue[] | undefined;
  let app: express.Express | undefined;

  function build(): express.Express {
    queues = [
      ...options.targets.map((target) => deliveryQueue(target.id, options.prefix, options.connection)),
      openOutboundQueue(options.appId, options.prefix, options.connection),
    ];
    // Errors reach the dashboard's API answers; without a listener BullMQ would also print them to the console.
    for (const queue of queues) queue.on('error', () => undefined);
    const serverAdapter = new ExpressAdapter().setBasePath(DASHBOARD_PATH);
    createBullBoard({
      queues: queues.map((queue) => new BullMQAdapter(queue, { allowRetries: true })),
      serverAdapter,
      options: {
        uiConfig: {
          boardTitle: 'qq-webhook-bridge',
          miscLinks: [{ text: 'Log out', url: LOGOUT_PATH }],
        },
      },
    });
    const outer = express();
    outer.disable('x-powered-by');
    outer.use(DASHBOARD_PATH, serverAdapter.getRouter() as express.Router);
    return outer;
  }

  const routes: AdminRoutes = (req, res) => {
    const url = parseRequestTarget(req.url);
    if (url === undefined) return false;
    const { pathname, search } = url;
    if (pathname !== DASHBOARD_PATH && !pathname.startsWith(`${DASHBOARD_PATH}/`)) return false;
    app ??= build();
    // Express routes on the raw URL; hand it the normalized one, the same path the token check was made on.
    req.url = `${pathname}${search}`;
    app(req, res);
    return true;
  };

  return Object.assign(routes, {
    async close(): Promise<void> {
      await Promise.all((queues ?? []).map((queue) => queue.close()));
    },
  });
}
