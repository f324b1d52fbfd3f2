import { describe, expect, it } from 'vitest';
import {
  LOGGED_BODY_CHARS,
  attemptLogLine,
  attemptProblem,
  loggedBody,
} from '../../src/delivery/attempt-log.js';
import type { AttemptRecord } from '../../src/queue/job.js';

const target = {
  id: 'orders',
  url: 'https://bot:hunter22@api.example.com/qq?token=s3cret',
  timeoutMs: 10_000,
};

function record(overrides: Partial<AttemptRecord>): AttemptRecord {
  return { attempt: 2, at: '2026-12-01T21:40:00.000Z', latencyMs: 35, outcome: 'retry', ...overrides };
}

describe('attemptLogLine', () => {
  it('says target, host, status text, latency, attempt N of M, the next retry and the hint', () => {
    const { message, fields } = attemptLogLine({
      eventId: 'E1',
      target,
      result: record({ status: 401, outcome: 'rejected', errorCode: 'HTTP_401', body: 'bad signature' }),
      attempts: 15,
      verdict: 'retry',
      nextRetryAt: new Date('2026-12-01T21:40:03.000Z'),
    });
    expect(message).toBe(
      'delivery to "orders" (api.example.com) failed: HTTP 401 Unauthorized after 35 ms, attempt 2 of 15; ' +
        "will retry at 2026-12-01T21:40:03.000Z — the receiver rejected the signature: check the target's secret " +
        "(targets[].secret must equal the receiver's)",
    );
    expect(fields).toEqual({
      eventId: 'E1',
      targetId: 'orders',
      host: 'api.example.com',
      attempt: 2,
      attempts: 15,
      status: 401,
      code: 'HTTP_401',
      latencyMs: 35,
      nextRetryAt: '2026-12-01T21:40:03.000Z',
      hint: expect.stringContaining('secret') as unknown,
      body: 'bad signature',
    });
  });

  it('never carries the credentials, path or query of the URL', () => {
    const { message, fields } = attemptLogLine({
      eventId: 'E1',
      target,
      result: record({
        errorCode: 'ECONNREFUSED',
        error: 'connection refused: connect ECONNREFUSED 1.2.3.4:443',
      }),
      attempts: 3,
      verdict: 'retry',
    });
    expect(`${message} ${JSON.stringify(fields)}`).not.toMatch(/hunter22|s3cret|bot:|\/qq/);
  });

  it('names the code and text of a failure without a response, and what listens where', () => {
    const { message, fields } = attemptLogLine({
      eventId: 'E1',
      target,
      result: record({
        errorCode: 'ECONNREFUSED',
        error: 'connection refused: connect ECONNREFUSED 1.2.3.4:443',
      }),
      attempts: 3,
      verdict: 'exhausted',
    });
    expect(message).toBe(
      'delivery to "orders" (api.example.com) failed: ECONNREFUSED (connection refused: connect ECONNREFUSED ' +
        '1.2.3.4:443) after 35 ms, attempt 2 of 3; no attempt left; dead-lettered — nothing listens at ' +
        'api.example.com:443: is the receiver running, and is the port in targets[].url right?',
    );
    expect(fields).not.toHaveProperty('nextRetryAt');
    expect(fields).not.toHaveProperty('status');
    expect(fields.code).toBe('ECONNREFUSED');
  });

  it('words a permanent rejection as dead-lettered without retrying', () => {
    const { message } = attemptLogLine({
      eventId: 'E1',
      target,
      result: record({ attempt: 1, status: 404, outcome: 'rejected', errorCode: 'HTTP_404' }),
      attempts: 15,
      verdict: 'rejected',
    });
    expect(message).toMatch(
      /^delivery to "orders" \(api\.example\.com\) rejected: HTTP 404 Not Found after 35 ms, attempt 1 of 15; dead-lettered without retrying — .*path/,
    );
  });

  it('gives no hint for a shutdown abort, which is not the target failing', () => {
    const { message, fields } = attemptLogLine({
      eventId: 'E1',
      target,
      result: record({ errorCode: 'BRIDGE_ERR_ABORTED', error: 'aborted: x' }),
      attempts: 15,
      verdict: 'aborted',
    });
    expect(message).toBe(
      'delivery to "orders" (api.example.com) aborted by shutdown after 35 ms, attempt 2 of 15; returned to the ' +
        'queue without using up an attempt',
    );
    expect(fields).not.toHaveProperty('hint');
  });
});

describe('attemptProblem', () => {
  it('prints an unknown status without a text', () => {
    expect(attemptProblem({ status: 599 })).toBe('HTTP 599');
    expect(attemptProblem({ status: 503 })).toBe('HTTP 503 Service Unavailable');
  });
});

describe('loggedBody', () => {
  it('caps a long body, marking the cut', () => {
    const body = loggedBody('x'.repeat(5000))!;
    expect(body).toBe(`${'x'.repeat(LOGGED_BODY_CHARS)}…`);
  });

  it('never cuts a surrogate pair in half', () => {
    const body = loggedBody(`${'x'.repeat(LOGGED_BODY_CHARS - 1)}😀tail`)!;
    expect(body).toBe(`${'x'.repeat(LOGGED_BODY_CHARS - 1)}…`);
  });

  it('keeps a short body whole and drops an empty one', () => {
    expect(loggedBody('ok')).toBe('ok');
    expect(loggedBody('')).toBeUndefined();
    expect(loggedBody(undefined)).toBeUndefined();
  });
});
