import { describe, expect, it } from 'vitest';
import { attemptHint } from '../../src/delivery/attempt-hints.js';
import { SSRF_BLOCKED_CODE, TIMEOUT_CODE } from '../../src/delivery/classify.js';

const target = { url: 'https://user:pw@api.example.com/hooks/qq?token=abc', timeoutMs: 7000 };

describe('attemptHint', () => {
  it.each([401, 403])('blames the secret for HTTP %i', (status) => {
    expect(attemptHint({ status }, target)).toBe(
      "the receiver rejected the signature: check the target's secret (targets[].secret must equal the receiver's)",
    );
  });

  it('points at the path for 404', () => {
    expect(attemptHint({ status: 404 }, target)).toMatch(/no such path: check the path of targets\[\]\.url/);
  });

  it('says the body is too large for 413', () => {
    expect(attemptHint({ status: 413 }, target)).toMatch(/body is too large/);
  });

  it.each([500, 502, 503, 599])('calls %i an error of the receiver', (status) => {
    expect(attemptHint({ status }, target)).toMatch(/receiver failed with an error of its own/);
  });

  it('suggests lowering the rate for 429', () => {
    expect(attemptHint({ status: 429 }, target)).toMatch(/rate limiting/);
  });

  it('explains that redirects are not followed', () => {
    expect(attemptHint({ status: 302 }, target)).toMatch(/redirects are not followed/);
  });

  it('has nothing to add for a plain 400 or a 2xx', () => {
    expect(attemptHint({ status: 400 }, target)).toBeUndefined();
    expect(attemptHint({ status: 200 }, target)).toBeUndefined();
  });

  it.each(['ENOTFOUND', 'EAI_AGAIN'])('names the hostname DNS has no address for on %s', (errorCode) => {
    expect(attemptHint({ errorCode }, target)).toBe(
      'DNS has no address for api.example.com: check targets[].url',
    );
  });

  it('names host and port (the default one when the URL has none) for ECONNREFUSED', () => {
    expect(attemptHint({ errorCode: 'ECONNREFUSED' }, target)).toMatch(
      /^nothing listens at api\.example\.com:443:/,
    );
    expect(
      attemptHint({ errorCode: 'ECONNREFUSED' }, { url: 'http://127.0.0.1:8081/in', timeoutMs: 1 }),
    ).toMatch(/^nothing listens at 127\.0\.0\.1:8081:/);
  });

  it.each([TIMEOUT_CODE, 'UND_ERR_HEADERS_TIMEOUT'])('names the timeout setting on %s', (errorCode) => {
    expect(attemptHint({ errorCode }, target)).toBe(
      'no complete response within 7000 ms: raise targets[].timeout or speed up the receiver',
    );
  });

  it("names allow_private for the SSRF guard's refusal", () => {
    expect(attemptHint({ errorCode: SSRF_BLOCKED_CODE }, target)).toMatch(
      /set allow_private: true on the target if this private address is intended$/,
    );
  });

  it('checks the certificate on a TLS failure', () => {
    expect(attemptHint({ errorCode: 'DEPTH_ZERO_SELF_SIGNED_CERT' }, target)).toMatch(/certificate/);
  });

  it('never quotes the credentials or query of the URL', () => {
    for (const errorCode of ['ENOTFOUND', 'ECONNREFUSED', TIMEOUT_CODE, SSRF_BLOCKED_CODE]) {
      const hint = attemptHint({ errorCode }, target) ?? '';
      expect(hint).not.toMatch(/pw|token|abc|hooks/);
    }
  });

  it('has nothing to add for an unknown network error', () => {
    expect(attemptHint({ errorCode: 'NETWORK_ERROR' }, target)).toBeUndefined();
  });
});
