import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { TokenError } from '../qq/access-token.js';
import type { GatewayBotInfo, QqOpenApi } from '../qq/openapi.js';
import { sleep, untilAborted } from '../util/abortable.js';
import type { ReconnectBackoff } from './reconnect-backoff.js';

export interface BootDiscoveryOptions {
  api: Pick<QqOpenApi, 'gatewayBot'>;
  logger: Logger;
  /** The delays between attempts (the gateway's reconnect schedule, with its jitter). */
  backoff: ReconnectBackoff;
  /** Aborted by stop(): the attempt under way is abandoned and no further one is made. */
  signal: AbortSignal;
}

/**
 * `GET /gateway/bot` at start (which also fetches the first access token), retried with backoff until it succeeds,
 * so one QQ blip at start does not end the process. Only a refusal no retry can fix is thrown: the token endpoint
 * rejecting the credentials or the bot itself ({@link TokenError.permanent}). Everything else (network errors,
 * timeouts, 5xx, a REST 401 that survives a fresh token) is retried, each failure logged with its attempt number
 * and the next delay. Resolves undefined once `signal` aborts.
 */
export async function discoverGatewayAtStart(
  options: BootDiscoveryOptions,
): Promise<GatewayBotInfo | undefined> {
  const { api, logger, backoff, signal } = options;
  for (let attempt = 1; !signal.aborted; attempt++) {
    try {
      return await untilAborted(api.gatewayBot(), signal, 'discovering the gateway');
    } catch (err) {
      if (signal.aborted) break;
      if (err instanceof TokenError && err.permanent) throw err;
      const delayMs = backoff.next();
      logger.warn(
        { err: describeError(err), attempt, delayMs },
        'gateway discovery (GET /gateway/bot) failed at start; retrying',
      );
      await sleep(delayMs, signal);
    }
  }
  logger.info('gateway discovery at start interrupted: stopping before any shard connected');
  return undefined;
}
