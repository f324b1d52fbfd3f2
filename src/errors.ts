/**
 * Stable error codes. Callers match on `code`, never on the message text, so messages can improve freely.
 */
export type BridgeErrorCode =
  | 'BRIDGE_ERR_CONFIG'
  | 'BRIDGE_ERR_USAGE'
  | 'BRIDGE_ERR_QQ_TOKEN'
  | 'BRIDGE_ERR_QQ_API'
  | 'BRIDGE_ERR_GATEWAY_FATAL'
  | 'BRIDGE_ERR_FRAME'
  | 'BRIDGE_ERR_REDIS'
  /** Redis acknowledged a write but too few replicas confirmed it in time (`redis.min_replicas`): not durable. */
  | 'BRIDGE_ERR_NOT_REPLICATED'
  | 'BRIDGE_ERR_DELIVERY'
  | 'BRIDGE_ERR_SSRF_BLOCKED'
  | 'BRIDGE_ERR_NOT_FOUND'
  | 'BRIDGE_ERR_JOURNAL_FULL'
  /** Another process holds the journal directory: one directory, one process. */
  | 'BRIDGE_ERR_JOURNAL_LOCKED'
  /** The journal's lock was found taken over or gone while this process held it: it stops using the journal. */
  | 'BRIDGE_ERR_JOURNAL_LOCK_LOST'
  | 'BRIDGE_ERR_ABORTED'
  /** A passive reply past QQ's reply window (group 5 min, C2C 60 min after the inbound event). */
  | 'BRIDGE_ERR_REPLY_EXPIRED'
  /** A sixth passive message to one inbound id: QQ allows five. */
  | 'BRIDGE_ERR_REPLY_LIMIT'
  /** A reply the bridge cannot send: malformed, or to an event that has no scene to answer in. */
  | 'BRIDGE_ERR_REPLY_REFUSED'
  /** QQ refused a send (a business error: its code and message are in the error). */
  | 'BRIDGE_ERR_QQ_SEND';

export class BridgeError extends Error {
  readonly code: BridgeErrorCode;

  constructor(code: BridgeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BridgeError';
    this.code = code;
  }
}

export function isBridgeError(err: unknown, code?: BridgeErrorCode): err is BridgeError {
  return err instanceof BridgeError && (code === undefined || err.code === code);
}

/** A one-line description of any thrown value, for logs and CLI output. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
