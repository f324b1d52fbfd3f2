import { InvalidArgumentError } from 'commander';
import { startSimulator } from '../simulator/index.js';
import type { Logger } from '../log.js';

export interface SimulateOptions {
  port: number;
  host: string;
  appId: string;
  clientSecret: string;
  heartbeatIntervalMs: number;
  /**
   * The bridge's callback route: the simulator then acts as QQ with that callback URL saved (op 13 first), and
   * `POST /_sim/emit` delivers each event there as a signed callback signed with `clientSecret`, not over the
   * WebSocket (docs/webhook-mode.md).
   */
  webhookUrl?: string;
}

/** Commander's parser of `--webhook-url`: an http:// or https:// URL, else a usage error saying what is expected. */
export function parseWebhookUrl(value: string): string {
  let protocol = '';
  try {
    protocol = new URL(value).protocol;
  } catch {
    // refused below, with the same message as a URL of another scheme
  }
  if (protocol !== 'http:' && protocol !== 'https:') {
    throw new InvalidArgumentError(
      "expected the bridge's callback URL, http:// or https://, e.g. http://127.0.0.1:9464/qq/callback",
    );
  }
  return value;
}

/** Runs the QQ stand-in in the foreground until SIGINT/SIGTERM; resolves with the exit code. */
export async function runSimulator(options: SimulateOptions, logger: Logger): Promise<number> {
  const { webhookUrl, ...simulatorOptions } = options;
  const sim = await startSimulator({
    ...simulatorOptions,
    logger,
    ...(webhookUrl !== undefined && { webhook: { url: webhookUrl } }),
  });
  logger.info(
    {
      origin: sim.origin,
      websocket: sim.wsUrl,
      appId: options.appId,
      tokenUrl: `${sim.origin}/app/getAppAccessToken`,
      ...(webhookUrl !== undefined && { webhookUrl }),
    },
    webhookUrl === undefined
      ? 'QQ simulator listening: point qq.token_url and qq.api_base at it; emit events with POST /_sim/emit'
      : 'QQ simulator listening in webhook mode: POST /_sim/emit delivers each event as a signed callback to ' +
          'webhookUrl (a bridge with qq.mode: webhook) and answers with its outcome',
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await sim.close();
  return 0;
}
