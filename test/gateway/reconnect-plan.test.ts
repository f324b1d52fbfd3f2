import { describe, expect, it } from 'vitest';
import {
  closeOutcome,
  ReconnectPlanner,
  type Ending,
  type EndedConnection,
} from '../../src/gateway/reconnect-plan.js';

const healthy: EndedConnection = { healthy: true, sentResume: false };
const failedResume: EndedConnection = { healthy: false, sentResume: true };
const resume = (reason: Ending['reason'], minDelayMs = 0): Ending => ({
  reason,
  action: 'resume',
  minDelayMs,
});

/** random() = 0.5: each backoff step is 75 % of itself. */
function planner(now: { ms: number }, options: { maxResumeFailures?: number } = {}): ReconnectPlanner {
  return new ReconnectPlanner({
    scheduleMs: [1_000, 2_000, 5_000],
    random: () => 0.5,
    now: () => now.ms,
    ...options,
  });
}

describe('ReconnectPlanner', () => {
  it.each([
    ['op 7', resume('op7'), 0],
    ['close 4009', resume('close'), 0],
    ['a dropped link', resume('network'), 0],
    ['the ACK watchdog', resume('zombie'), 0],
    ['op 9 d=true (1–5 s)', resume('invalid_session', 3_000), 3_000],
    ['4008 (60 s)', resume('close', 60_000), 60_000],
    ['a failed enqueue', resume('dispatch_failed'), 750],
    ['4004 (token refresh)', { reason: 'close', action: 'refresh-token', minDelayMs: 0 }, 750],
    ['4006 (new session)', { reason: 'close', action: 'identify', minDelayMs: 0 }, 750],
  ] as const)('after a healthy session ended by %s the delay is %d ms', (_what, ending, delayMs) => {
    expect(planner({ ms: 0 }).plan(ending, healthy, true).delayMs).toBe(delayMs);
  });

  it('backs off from the second failure in a row, and reconnects at once again after the next healthy session', () => {
    const now = { ms: 0 };
    const p = planner(now);
    const unhealthy: EndedConnection = { healthy: false, sentResume: false };
    expect(p.plan(resume('op7'), healthy, true).delayMs).toBe(0);
    expect(p.plan(resume('network'), unhealthy, true).delayMs).toBe(750);
    expect(p.plan(resume('network'), unhealthy, true).delayMs).toBe(1_500);
    expect(p.afterFailure).toBe(true);
    p.healthy();
    expect(p.afterFailure).toBe(false);
    now.ms += 1_000;
    expect(p.plan(resume('op7'), healthy, true).delayMs).toBe(0);
  });

  it('reconnects at once only after a session that was healthy for at least 1 s', () => {
    const now = { ms: 0 };
    const p = planner(now);
    const delays: number[] = [];
    // healthy for 5 s, 0.999 s, 1 s, 0 s, then 30 min (QQ's cycle)
    for (const lifetimeMs of [5_000, 999, 1_000, 0, 1_800_000]) {
      p.healthy();
      now.ms += lifetimeMs;
      delays.push(p.plan(resume('op7'), healthy, true).delayMs);
    }
    expect(delays).toEqual([0, 750, 0, 750, 0]);
  });

  it('counts failed resumes; gives up after three, or identifies at once when QQ refuses', () => {
    const p = planner({ ms: 0 });
    expect(p.plan(resume('network'), failedResume, true)).toMatchObject({
      resumeFailures: 1,
      action: 'resume',
    });
    expect(p.plan(resume('network'), failedResume, true)).toMatchObject({
      resumeFailures: 2,
      action: 'resume',
    });
    expect(p.plan(resume('network'), failedResume, true)).toMatchObject({
      resumeFailures: 3,
      action: 'identify',
      gaveUpResuming: true,
      refreshToken: false,
    });
    const refused: Ending = { reason: 'invalid_session', action: 'identify', minDelayMs: 1_000 };
    expect(planner({ ms: 0 }).plan(refused, failedResume, true)).toMatchObject({
      resumeFailures: 1,
      action: 'identify',
      refreshToken: true,
    });
  });

  it('with maxResumeFailures Infinity keeps resuming after failed resumes, but identifies when QQ refuses', () => {
    const p = planner({ ms: 0 }, { maxResumeFailures: Number.POSITIVE_INFINITY });
    for (let n = 1; n <= 5; n++) {
      expect(p.plan(resume('close'), failedResume, true)).toMatchObject({
        resumeFailures: n,
        action: 'resume',
      });
    }
    // op 9 d=false: the session is gone at QQ, so it is dropped however many failures the owner tolerates
    const refused: Ending = { reason: 'invalid_session', action: 'identify', minDelayMs: 1_000 };
    expect(p.plan(refused, failedResume, true)).toMatchObject({
      resumeFailures: 6,
      action: 'identify',
      refreshToken: true,
      gaveUpResuming: false,
    });
  });
});

describe('closeOutcome', () => {
  const op7 = resume('op7');
  const op9: Ending = { reason: 'invalid_session', action: 'identify', minDelayMs: 2_000 };
  it.each<[string, number, Ending | undefined, unknown]>([
    [
      '4009 after op 7 keeps op 7 (resume)',
      4009,
      op7,
      { kind: 'reconnect', ending: op7, detail: 'op7 (close 4009)' },
    ],
    ['4006 after op 7 keeps op 7', 4006, op7, { kind: 'reconnect', ending: op7 }],
    ['4014 after op 9 is a configuration error', 4014, op9, { kind: 'config-error', minDelayMs: 300_000 }],
    ['4914 is fatal even after our own ending', 4914, op7, { kind: 'fatal' }],
    [
      'a plain 4009 resumes',
      4009,
      undefined,
      { kind: 'reconnect', ending: resume('close'), detail: 'close 4009' },
    ],
    ['1006 is the network', 1006, undefined, { kind: 'reconnect', ending: resume('network') }],
    ['4008 waits 60 s', 4008, undefined, { kind: 'reconnect', ending: resume('close', 60_000) }],
    [
      '4004 refreshes the token',
      4004,
      undefined,
      { kind: 'reconnect', ending: { reason: 'close', action: 'refresh-token', minDelayMs: 0 } },
    ],
    [
      '4902 identifies',
      4902,
      undefined,
      { kind: 'reconnect', ending: { reason: 'close', action: 'identify', minDelayMs: 0 } },
    ],
  ])('%s', (_what, code, chosen, expected) => {
    expect(closeOutcome(code, chosen)).toMatchObject(expected as object);
  });
});
