import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { AccessTokenManager, type AccessTokenOptions } from '../../src/qq/access-token.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { sessionAgainst } from '../helpers/gateway.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function simulator(): Promise<Simulator> {
  const sim = await startSimulator({ heartbeatIntervalMs: 1_000 });
  cleanups.push(() => sim.close());
  return sim;
}

function tokensFor(sim: Simulator, options: Partial<AccessTokenOptions> = {}): AccessTokenManager {
  const tokens = new AccessTokenManager({
    tokenUrl: `${sim.origin}/app/getAppAccessToken`,
    appId: '102000000',
    clientSecret: 'simulator-secret',
    logger: silentLogger(),
    ...options,
  });
  cleanups.push(() => tokens.stop());
  return tokens;
}

describe('AccessTokenManager and the token endpoint rate limit (code 100001)', () => {
  it('sends no token request during the pause and keeps using the valid token; asks again after it', async () => {
    const sim = await simulator();
    let now = 1_000_000;
    const tokens = tokensFor(sim, { now: () => now, rateLimitPauseMs: 60_000 });
    const held = await tokens.get();
    sim.fault('token_rate_limit', { times: 10 });

    expect(await tokens.refresh()).toBe(held);
    expect(sim.state().tokenRequests).toBe(2);
    for (let i = 0; i < 3; i++) expect(await tokens.refresh()).toBe(held);
    now += 59_999;
    expect(await tokens.refresh()).toBe(held);
    expect(await tokens.get()).toBe(held);
    expect(sim.state().tokenRequests).toBe(2);

    now += 1;
    expect(await tokens.refresh()).toBe(held);
    expect(sim.state().tokenRequests).toBe(3);
  });

  it('makes a caller with no valid token wait for the end of the pause, then fetches once', async () => {
    const sim = await simulator();
    const tokens = tokensFor(sim, { rateLimitPauseMs: 200 });
    const first = await tokens.get();
    sim.fault('token_rate_limit');
    tokens.invalidate();
    const waiting = [tokens.get(), tokens.get(), tokens.refresh()];
    expect(await Promise.all(waiting)).toEqual([first, first, first]);
    // one refused request, then one after the pause: the three callers shared both
    expect(sim.state().tokenRequests).toBe(3);
  });

  it('stop() ends a wait for the pause with BRIDGE_ERR_ABORTED', async () => {
    const sim = await simulator();
    const tokens = tokensFor(sim);
    sim.fault('token_rate_limit');
    const waiting = tokens.get();
    await sim.waitFor((state) => state.tokenRequests === 1);
    tokens.stop();
    await expect(waiting).rejects.toMatchObject({ code: 'BRIDGE_ERR_ABORTED' });
    expect(sim.state().tokenRequests).toBe(1);
  });

  it('identify-class reconnects during the pause identify with the held token instead of asking again', async () => {
    const sim = await simulator();
    const harness = sessionAgainst(sim);
    cleanups.push(() => harness.stop());
    await harness.session.start();
    await sim.waitFor((state) => state.sessions.some((session) => !session.discarded && session.connected));
    sim.fault('token_rate_limit', { times: 100 });
    for (let identifies = 2; identifies <= 4; identifies++) {
      // op 9 {d:false}: the session is gone, so the bridge refreshes its token and identifies again
      sim.fault('invalid_session');
      await sim.waitFor(
        (state) => state.identifies === identifies && state.sessions.some((s) => !s.discarded && s.connected),
      );
    }
    // the first token, then the one refused request that started the pause
    expect(sim.state().tokenRequests).toBe(2);
  });
});
