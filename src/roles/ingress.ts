import type { BridgeConfig } from '../config/types.js';
import type { DispatchFrame } from '../events/envelope.js';
import { createWebhookIngress } from '../ingress/webhook-ingress.js';
import type { Logger } from '../log.js';
import type { ExtraRoute } from '../server/http.js';
import type { BridgeMetrics } from '../server/metrics.js';

/**
 * The gateway role's callback route in `qq.mode: webhook` (docs/webhook-mode.md). The route exists from the start,
 * on the HTTP server; it answers 503 until the gateway opens it onto its ingest pipeline and again once the gateway
 * closed it on shutdown, so QQ retries those callbacks against a running replica.
 */
export interface CallbackIngress {
  /** `qq.webhook.path` → the ingress, for the HTTP server. */
  readonly routes: ReadonlyMap<string, ExtraRoute>;
  open(accept: (frame: DispatchFrame) => Promise<void>): void;
  close(): void;
}

export function buildCallbackIngress(options: {
  config: BridgeConfig;
  logger: Logger;
  metrics: BridgeMetrics;
}): CallbackIngress {
  const { config, logger, metrics } = options;
  let ingest: ((frame: DispatchFrame) => Promise<void>) | undefined;
  const handler = createWebhookIngress({
    config: config.qq,
    logger,
    metrics,
    accept: (frame) => (ingest ? ingest(frame) : Promise.reject(new Error('the bridge is not running'))),
  });
  return {
    routes: new Map([[config.qq.webhook.path, handler]]),
    open(accept) {
      ingest = accept;
      logger.info({ path: config.qq.webhook.path }, 'webhook mode: receiving QQ callbacks over HTTP');
    },
    close() {
      ingest = undefined;
    },
  };
}
