/**
 * What is wrong with the link to Redis, in the words an operator needs: the address, the connection error ioredis
 * last reported (`connect ECONNREFUSED 127.0.0.1:6390`, `WRONGPASS …`) and how many attempts failed. A command
 * refused because the link is down (`Stream isn't writeable and enableOfflineQueue options is false`,
 * `Connection is closed.`) says nothing about why, so it never replaces the connection error as the cause.
 *
 * @packageDocumentation
 */
import type { RedisClient } from './client.js';

/** Why Redis cannot be reached: the error text and, for a socket error, its code (`ECONNREFUSED`). */
export interface RedisCause {
  readonly message: string;
  readonly code?: string;
}

/** The link while it is down: where, why, and how many connection attempts have failed since it was last up. */
export interface RedisLinkProblem {
  readonly address: string;
  readonly cause: RedisCause;
  readonly attempt: number;
}

/** Texts of ioredis's rejections of a command sent while the link is down (see the module comment). */
const COMMAND_REJECTIONS = ["Stream isn't writeable", 'Connection is closed.'];

export function isCommandRejection(err: unknown): boolean {
  return err instanceof Error && COMMAND_REJECTIONS.some((text) => err.message.startsWith(text));
}

function errorCode(err: Error): string | undefined {
  const { code } = err as { code?: unknown };
  return typeof code === 'string' ? code : undefined;
}

/**
 * The cause an ioredis `error` event reports, or undefined when the error is only a command rejection. Unwraps a
 * Cluster's "Failed to refresh slots cache." to the node error behind it, and Node's AggregateError (a host name
 * with IPv4 and IPv6 addresses, every one refused), whose own message is empty.
 */
export function connectionCause(err: unknown): RedisCause | undefined {
  if (!(err instanceof Error)) return { message: String(err) };
  if (isCommandRejection(err)) return undefined;
  const { lastNodeError } = err as { lastNodeError?: unknown };
  if (lastNodeError instanceof Error) {
    const inner = connectionCause(lastNodeError);
    if (inner) return inner;
  }
  const code = errorCode(err);
  let message = err.message;
  if (err instanceof AggregateError && message === '') {
    message = err.errors
      .map((inner: unknown) => (inner instanceof Error ? inner.message : String(inner)))
      .join(', ');
  }
  return { message: message === '' ? (code ?? err.name) : message, ...(code ? { code } : {}) };
}

/** The link state of one connection, kept up to date from its `error` and `ready` events. */
export interface RedisLink {
  readonly address: string;
  /** Undefined while the connection is ready, and before a first attempt has failed. */
  problem(): RedisLinkProblem | undefined;
  /** True once the connection has been ready at least once: a failure after that is a loss, not a start. */
  hasBeenReady(): boolean;
}

/**
 * Watches `client`: each `error` event counts one failed attempt and, unless it is a command rejection, becomes the
 * cause; a Cluster's `node error` events refine the cause (they name the node) without counting. `ready` resets.
 * Register it before any other `error` listener, so theirs already see the new state.
 */
export function watchRedisLink(client: RedisClient, address: string): RedisLink {
  let attempt = 0;
  let cause: RedisCause | undefined;
  let readyOnce = false;
  client.on('error', (err: unknown) => {
    attempt++;
    cause = connectionCause(err) ?? cause;
  });
  client.on('node error', (err: unknown) => {
    cause = connectionCause(err) ?? cause;
  });
  client.on('ready', () => {
    readyOnce = true;
    attempt = 0;
    cause = undefined;
  });
  return {
    address,
    problem() {
      if (client.status === 'ready' || attempt === 0) return undefined;
      return { address, cause: cause ?? { message: 'no connection error reported yet' }, attempt };
    },
    hasBeenReady: () => readyOnce,
  };
}
