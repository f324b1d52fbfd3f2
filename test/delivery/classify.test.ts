import { describe, expect, it } from 'vitest';
import {
  classifyErrorCode,
  classifyStatus,
  errorCodeOf,
  statusErrorCode,
  TIMEOUT_CODE,
} from '../../src/delivery/classify.js';

describe('classifyStatus', () => {
  it.each([
    [200, 'delivered'],
    [201, 'delivered'],
    [204, 'delivered'],
    [299, 'delivered'],
    [408, 'retry'],
    [425, 'retry'],
    [429, 'retry'],
    [500, 'retry'],
    [502, 'retry'],
    [503, 'retry'],
    [504, 'retry'],
    [599, 'retry'],
    [101, 'rejected'],
    [301, 'rejected'],
    [302, 'rejected'],
    [304, 'rejected'],
    [307, 'rejected'],
    [308, 'rejected'],
    [400, 'rejected'],
    [401, 'rejected'],
    [403, 'rejected'],
    [404, 'rejected'],
    [409, 'rejected'],
    [410, 'rejected'],
    [413, 'rejected'],
    [422, 'rejected'],
  ] as const)('HTTP %d is %s', (status, outcome) => {
    expect(classifyStatus(status)).toBe(outcome);
  });

  it('names non-2xx statuses HTTP_<n> and 2xx not at all', () => {
    expect(statusErrorCode(503)).toBe('HTTP_503');
    expect(statusErrorCode(302)).toBe('HTTP_302');
    expect(statusErrorCode(204)).toBeUndefined();
  });
});

describe('classifyErrorCode', () => {
  it.each([
    ['UND_ERR_CONNECT_TIMEOUT', 'timeout', 'retry'],
    ['UND_ERR_HEADERS_TIMEOUT', 'timeout', 'retry'],
    ['UND_ERR_BODY_TIMEOUT', 'timeout', 'retry'],
    [TIMEOUT_CODE, 'timeout', 'retry'],
    ['ECONNREFUSED', 'connection_refused', 'retry'],
    ['ENOTFOUND', 'dns_error', 'retry'],
    ['EAI_AGAIN', 'dns_error', 'retry'],
    ['ECONNRESET', 'connection_reset', 'retry'],
    ['EPIPE', 'connection_reset', 'retry'],
    ['UND_ERR_SOCKET', 'connection_reset', 'retry'],
    ['CERT_HAS_EXPIRED', 'tls_error', 'retry'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'tls_error', 'retry'],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'tls_error', 'retry'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'tls_error', 'retry'],
    ['EPROTO', 'tls_error', 'retry'],
    ['EHOSTUNREACH', 'network_error', 'retry'],
    ['NETWORK_ERROR', 'network_error', 'retry'],
    ['BRIDGE_ERR_ABORTED', 'aborted', 'retry'],
    ['BRIDGE_ERR_SSRF_BLOCKED', 'blocked', 'rejected'],
    ['UND_ERR_INVALID_ARG', 'invalid_request', 'rejected'],
    ['ERR_INVALID_URL', 'invalid_request', 'rejected'],
  ] as const)('%s is %s → %s', (code, kind, outcome) => {
    expect(classifyErrorCode(code)).toEqual({ kind, outcome });
  });
});

describe('errorCodeOf', () => {
  it('reads code from the error, its cause chain, or an AggregateError member', () => {
    expect(errorCodeOf(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toBe('ECONNRESET');
    expect(
      errorCodeOf(new Error('fetch failed', { cause: Object.assign(new Error('y'), { code: 'ENOTFOUND' }) })),
    ).toBe('ENOTFOUND');
    const aggregate = new AggregateError(
      [Object.assign(new Error('v6'), { code: 'ECONNREFUSED' })],
      'both failed',
    );
    expect(errorCodeOf(aggregate)).toBe('ECONNREFUSED');
  });

  it('maps AbortSignal.timeout()’s TimeoutError to the timeout code and skips ABORT_ERR wrappers', () => {
    const reason = new DOMException('timed out', 'TimeoutError');
    expect(errorCodeOf(reason)).toBe(TIMEOUT_CODE);
    expect(errorCodeOf(Object.assign(new Error('aborted'), { code: 'ABORT_ERR', cause: reason }))).toBe(
      TIMEOUT_CODE,
    );
  });

  it('falls back to NETWORK_ERROR for values without a code', () => {
    expect(errorCodeOf(new Error('?'))).toBe('NETWORK_ERROR');
    expect(errorCodeOf('string')).toBe('NETWORK_ERROR');
    expect(errorCodeOf(null)).toBe('NETWORK_ERROR');
  });
});
