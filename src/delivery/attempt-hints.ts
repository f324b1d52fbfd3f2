import { classifyErrorCode } from './classify.js';
import { defaultPort, targetHost } from './target-host.js';

/** What a hint needs to know about the target: where it points and how long one attempt may take. */
export interface HintTarget {
  readonly url: string;
  readonly timeoutMs: number;
}

/** What a hint needs to know about the attempt: the HTTP status, or the stable code of a failure without one. */
export interface HintAttempt {
  readonly status?: number;
  readonly errorCode?: string;
}

/** A hint for a status the receiver answered with; undefined when there is nothing specific to say. */
function statusHint(status: number): string | undefined {
  if (status === 401 || status === 403)
    return "the receiver rejected the signature: check the target's secret (targets[].secret must equal the receiver's)";
  if (status === 404) return 'the receiver has no such path: check the path of targets[].url';
  if (status === 413)
    return "the body is too large for the receiver: raise its request size limit (or its proxy's)";
  if (status === 429)
    return 'the receiver is rate limiting: lower targets[].concurrency or set targets[].rate_limit';
  if (status >= 300 && status <= 399)
    return 'redirects are not followed: set targets[].url to the address the receiver redirects to';
  if (status >= 500 && status <= 599) return 'the receiver failed with an error of its own: see its logs';
  return undefined;
}

/** A hint for a failure without a response, from its stable code (classify.ts). */
function networkHint(code: string, target: HintTarget): string | undefined {
  const host = targetHost(target.url);
  switch (classifyErrorCode(code).kind) {
    case 'dns_error':
      return `DNS has no address for ${hostnameOf(target.url) ?? host}: check targets[].url`;
    case 'connection_refused':
      return `nothing listens at ${hostAndPort(target.url) ?? host}: is the receiver running, and is the port in targets[].url right?`;
    case 'timeout':
      return `no complete response within ${target.timeoutMs} ms: raise targets[].timeout or speed up the receiver`;
    case 'blocked':
      return 'the SSRF guard refused a private address: set allow_private: true on the target if this private address is intended';
    case 'tls_error':
      return "TLS failed: check the receiver's certificate (it must be valid for the host in targets[].url)";
    case 'connection_reset':
      return 'the connection was closed before the answer: check the receiver (or a proxy in front of it) for crashes or limits';
    case 'invalid_request':
      return 'the request could not be sent: check targets[].url and targets[].headers';
    default:
      return undefined;
  }
}

function hostnameOf(url: string): string | undefined {
  try {
    return new URL(url).hostname;
  } catch {
    return undefined;
  }
}

/** `host:port`, with the scheme's default port when the URL names none. */
function hostAndPort(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || defaultPort(parsed.protocol)}`;
  } catch {
    return undefined;
  }
}

/**
 * What an operator should look at after a failed attempt, for the common causes: a rejected signature, DNS, nothing
 * listening, a timeout, the SSRF guard, a wrong path, a body too large, the receiver's own errors. Undefined when
 * the failure says nothing specific (and for a shutdown's abort, which is not a failure of the target).
 */
export function attemptHint(attempt: HintAttempt, target: HintTarget): string | undefined {
  if (attempt.status !== undefined) return statusHint(attempt.status);
  if (attempt.errorCode !== undefined) return networkHint(attempt.errorCode, target);
  return undefined;
}
