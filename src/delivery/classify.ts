/** What one attempt means for the job: done, try again later, or straight to the dead-letter queue. */
export type DeliveryOutcome = 'delivered' | 'retry' | 'rejected';

/**
 * Coarse class of a failure that produced no HTTP response, for logs, metrics and the dashboard. `blocked` (the
 * SSRF guard refused the address) and `invalid_request` (undici refused the URL or a configured header) are
 * configuration problems that no amount of retrying fixes; `aborted` is our own shutdown.
 */
export type NetworkErrorKind =
  | 'timeout'
  | 'connection_refused'
  | 'dns_error'
  | 'connection_reset'
  | 'tls_error'
  | 'blocked'
  | 'invalid_request'
  | 'aborted'
  | 'network_error';

/** Classification of a failure without a response. */
export interface NetworkErrorClass {
  readonly kind: NetworkErrorKind;
  readonly outcome: DeliveryOutcome;
}

/** Our code for the whole-exchange deadline (`target.timeoutMs`), which fires as an AbortSignal, not an undici error. */
export const TIMEOUT_CODE = 'ETIMEDOUT';
/** Our code for an attempt cut short by shutdown; the job goes back to the queue without using up an attempt. */
export const ABORTED_CODE = 'BRIDGE_ERR_ABORTED';
/** The SSRF guard's code (see BridgeErrorCode); it may surface from a custom `connect`/`lookup`. */
export const SSRF_BLOCKED_CODE = 'BRIDGE_ERR_SSRF_BLOCKED';
/** Fallback when a thrown value carries no code at all. */
export const UNKNOWN_NETWORK_CODE = 'NETWORK_ERROR';

/**
 * Outcome of an HTTP status (docs/design.md §4): 2xx delivered; 408, 425, 429 and 5xx are the receiver saying "later";
 * everything else (3xx — redirects are not followed —, other 4xx, and nonsense like 1xx) is a permanent rejection.
 */
export function classifyStatus(status: number): DeliveryOutcome {
  if (status >= 200 && status <= 299) return 'delivered';
  if (status === 408 || status === 425 || status === 429) return 'retry';
  if (status >= 500 && status <= 599) return 'retry';
  return 'rejected';
}

/** The stable code recorded for a non-2xx response, e.g. `HTTP_503`; undefined for 2xx. */
export function statusErrorCode(status: number): string | undefined {
  return classifyStatus(status) === 'delivered' ? undefined : `HTTP_${status}`;
}

const TIMEOUT_CODES = new Set([
  TIMEOUT_CODE,
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
]);
const REFUSED_CODES = new Set(['ECONNREFUSED']);
const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NODATA', 'EAI_NONAME']);
/** undici refuses the request before sending it: a bad URL, protocol or configured header. */
const INVALID_REQUEST_CODES = new Set(['UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED', 'ERR_INVALID_URL']);
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);

/** Node/OpenSSL certificate and handshake codes; the list is long, so match the families by pattern. */
function isTlsCode(code: string): boolean {
  return (
    code === 'EPROTO' ||
    code.startsWith('ERR_TLS_') ||
    code.startsWith('ERR_SSL_') ||
    /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|HOSTNAME_MISMATCH/.test(code)
  );
}

/**
 * Kind and outcome of a failure that produced no response, from its stable code. Every network failure is
 * retried (docs/design.md §4) — the target may be down for hours and come back — except an SSRF refusal or a request
 * undici will not send, which are configuration problems and go to the dead-letter queue at once.
 */
export function classifyErrorCode(code: string): NetworkErrorClass {
  if (code === SSRF_BLOCKED_CODE) return { kind: 'blocked', outcome: 'rejected' };
  if (INVALID_REQUEST_CODES.has(code)) return { kind: 'invalid_request', outcome: 'rejected' };
  if (code === ABORTED_CODE) return { kind: 'aborted', outcome: 'retry' };
  if (TIMEOUT_CODES.has(code)) return { kind: 'timeout', outcome: 'retry' };
  if (REFUSED_CODES.has(code)) return { kind: 'connection_refused', outcome: 'retry' };
  if (DNS_CODES.has(code)) return { kind: 'dns_error', outcome: 'retry' };
  if (RESET_CODES.has(code)) return { kind: 'connection_reset', outcome: 'retry' };
  if (isTlsCode(code)) return { kind: 'tls_error', outcome: 'retry' };
  return { kind: 'network_error', outcome: 'retry' };
}

function ownCode(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || !('code' in value)) return undefined;
  const { code } = value;
  return typeof code === 'string' && code.length > 0 ? code : undefined;
}

/**
 * The stable code of a thrown value. undici's own errors carry `code`; socket and DNS failures carry Node's
 * (`ECONNREFUSED`…), sometimes only on `cause`, and Happy Eyeballs (`autoSelectFamily`) reports an
 * AggregateError whose members hold the codes. A `TimeoutError` (from `AbortSignal.timeout`) maps to
 * {@link TIMEOUT_CODE}.
 */
export function errorCodeOf(err: unknown): string {
  const seen = new Set<unknown>();
  let current: unknown = err;
  while (current !== undefined && current !== null && !seen.has(current)) {
    seen.add(current);
    const code = ownCode(current);
    if (code !== undefined && code !== 'ABORT_ERR') return code;
    // DOMException's numeric `code` is ignored above; its name is what identifies AbortSignal.timeout().
    if (typeof current === 'object' && 'name' in current && current.name === 'TimeoutError')
      return TIMEOUT_CODE;
    if (current instanceof AggregateError) {
      const inner = current.errors.map(ownCode).find((c) => c !== undefined);
      if (inner !== undefined) return inner;
    }
    current = current instanceof Error ? current.cause : undefined;
  }
  return UNKNOWN_NETWORK_CODE;
}
