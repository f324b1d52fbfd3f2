import type { DispatchFrame } from '../../src/events/envelope.js';
import {
  GatewaySession,
  type GatewaySessionOptions,
  type ReconnectReason,
} from '../../src/gateway/session.js';
import { MemorySessionStore, type SessionStore } from '../../src/gateway/session-store.js';
import { silentLogger } from '../../src/log.js';
import { AccessTokenManager } from '../../src/qq/access-token.js';
import { INTENTS } from '../../src/qq/intents.js';
import type { Simulator } from '../../src/simulator/index.js';

export interface SessionHarness {
  session: GatewaySession;
  store: SessionStore;
  tokens: AccessTokenManager;
  dispatched: DispatchFrame[];
  /** Every reconnect the session scheduled, with the delay it was scheduled with. */
  reconnects: { reason: ReconnectReason; detail: string; delayMs: number }[];
  /** The `failures` of every onResumeFailing call. */
  resumeFailing: number[];
  fatal: { code: number; meaning: string }[];
  rejected: string[];
  /** Resolves when `count` dispatches arrived. */
  waitForDispatches(count: number, timeoutMs?: number): Promise<DispatchFrame[]>;
  stop(): Promise<void>;
}

/** A session wired to a simulator with fast timings; tests override what they exercise. */
export function sessionAgainst(
  sim: Simulator,
  overrides: Partial<GatewaySessionOptions> & { appId?: string; clientSecret?: string } = {},
): SessionHarness {
  const dispatched: DispatchFrame[] = [];
  const reconnects: SessionHarness['reconnects'] = [];
  const fatal: SessionHarness['fatal'] = [];
  const rejected: string[] = [];
  const resumeFailing: number[] = [];
  const logger = silentLogger();
  const tokens = new AccessTokenManager({
    tokenUrl: `${sim.origin}/app/getAppAccessToken`,
    appId: overrides.appId ?? '102000000',
    clientSecret: overrides.clientSecret ?? 'simulator-secret',
    logger,
  });
  const store = overrides.store ?? new MemorySessionStore();
  const session = new GatewaySession({
    shardId: 0,
    shardCount: 1,
    intents: INTENTS.GROUP_AND_C2C_EVENT,
    resolveGatewayUrl: () => Promise.resolve(sim.wsUrl),
    tokens,
    store,
    logger,
    reconnectScheduleMs: [20, 40, 80],
    invalidSessionDelayMs: [10, 20],
    configErrorDelayMs: 300,
    handshakeTimeoutMs: 5_000,
    // tests fault a session moments after READY; the 1 s floor for an instant reconnect has tests of its own
    instantReconnectMinHealthyMs: 0,
    onDispatch: (frames) => {
      dispatched.push(...frames);
      return Promise.resolve();
    },
    hooks: {
      onReconnect: (reason, detail, delayMs) => reconnects.push({ reason, detail, delayMs }),
      onResumeFailing: (failures) => resumeFailing.push(failures),
      onFatal: (code, meaning) => fatal.push({ code, meaning }),
      onRejectedFrame: (reason) => rejected.push(reason),
    },
    ...overrides,
  });
  return {
    session,
    store,
    tokens,
    dispatched,
    reconnects,
    resumeFailing,
    fatal,
    rejected,
    async waitForDispatches(count, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (dispatched.length < count) {
        if (Date.now() > deadline) {
          throw new Error(
            `got ${dispatched.length} of ${count} dispatches: ${dispatched.map((f) => f.t).join(',')}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return dispatched;
    },
    async stop() {
      tokens.stop();
      await session.stop();
    },
  };
}

/** The seed's GROUP_ADD_ROBOT `d` (docs/qq-protocol.md §5.4). */
export function seedAddRobot(n = 0): Record<string, unknown> {
  return {
    group_openid: 'C9F778FE6ADF9D1D1DBE395BF744A33A',
    op_member_openid: 'E4F4AEA33253A2797FB897C50B81D7ED',
    timestamp: 1699240248 + n,
  };
}

/** Polls `check` until it is true; fails with `what` after the timeout. */
export async function eventually(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
