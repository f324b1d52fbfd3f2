import { isBridgeError } from '../../errors.js';

/** A Redis call of the send API that failed: Redis refused it (down, unreachable) or did not answer in time. */
export class StoreUnavailableError extends Error {
  constructor(
    /** True when Redis did not answer in time: the call may still have taken effect. */
    readonly timedOut: boolean,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}

/**
 * Awaits a Redis call, at most `timeoutMs`: a Redis that stopped answering must not hold the request until the
 * client gives up. Any failure becomes a {@link StoreUnavailableError}, except the bridge's own refusals
 * (BridgeError, such as `BRIDGE_ERR_REPLY_LIMIT`), which pass through. A write too few replicas confirmed
 * (`BRIDGE_ERR_NOT_REPLICATED`) is unavailable too, and like a timeout may have taken effect on the master.
 */
export async function storeCall<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new StoreUnavailableError(true, `Redis did not answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([work, timeout]);
  } catch (err) {
    if (isBridgeError(err, 'BRIDGE_ERR_NOT_REPLICATED'))
      throw new StoreUnavailableError(true, err.message, { cause: err });
    if (err instanceof StoreUnavailableError || isBridgeError(err)) throw err;
    throw new StoreUnavailableError(
      false,
      `Redis refused the call: ${err instanceof Error ? err.message : String(err)}`,
      {
        cause: err,
      },
    );
  } finally {
    clearTimeout(timer);
  }
}
