import { describe, expect, it } from 'vitest';
import {
  MAX_HANDOFFS_PER_ROUND,
  planBalance,
  rendezvousScore,
  shardQuota,
  type BalanceInput,
} from '../../src/gateway/shard-balancer.js';

const SHARDS = [0, 1, 2, 3];
const A = 'gw-a/aaaa0001';
const B = 'gw-b/bbbb0001';
const C = 'gw-c/cccc0001';

function holders(entries: Record<number, string | undefined>): Map<number, string | undefined> {
  return new Map(SHARDS.map((id) => [id, entries[id]]));
}

function input(overrides: Partial<BalanceInput> & Pick<BalanceInput, 'self'>): BalanceInput {
  return { replicas: [overrides.self], planned: SHARDS, holders: holders({}), held: [], ...overrides };
}

describe('shardQuota', () => {
  it.each([
    [4, 1, 4],
    [4, 2, 2],
    [4, 3, 2],
    [4, 4, 1],
    [4, 5, 1],
    [1, 3, 1],
    [0, 2, 0],
    [4, 0, 4],
  ])('%i shards over %i replicas: at most %i each', (shards, replicas, quota) => {
    expect(shardQuota(shards, replicas)).toBe(quota);
  });
});

describe('planBalance', () => {
  it('a lone replica goes for every free shard, most preferred first', () => {
    const plan = planBalance(input({ self: A }));
    expect(plan.quota).toBe(4);
    expect(plan.release).toEqual([]);
    expect([...plan.acquire].sort()).toEqual(SHARDS);
    const scores = plan.acquire.map((id) => rendezvousScore(id, 'gw-a'));
    expect(scores).toEqual([...scores].sort((x, y) => y - x));
    expect(plan.handoffPending).toBe(true);
  });

  it('a replica holding everything hands off one shard per round once a second one is live', () => {
    const all = holders({ 0: A, 1: A, 2: A, 3: A });
    const plan = planBalance(input({ self: A, replicas: [A, B], holders: all, held: SHARDS }));
    expect(plan.quota).toBe(2);
    expect(plan.release).toHaveLength(MAX_HANDOFFS_PER_ROUND);
    expect(plan.acquire).toEqual([]);
    // The shard it lets go is the one it scores lowest: the same answer every round, on every replica.
    const lowest = [...SHARDS].sort((x, y) => rendezvousScore(x, 'gw-a') - rendezvousScore(y, 'gw-a'))[0];
    expect(plan.release).toEqual([lowest]);
    expect(
      planBalance(input({ self: A, replicas: [B, A], holders: all, held: [3, 2, 1, 0] })).release,
    ).toEqual(plan.release);
  });

  it('the newcomer waits for hand-offs without taking held shards, and hurries while one is pending', () => {
    const all = holders({ 0: A, 1: A, 2: A, 3: A });
    const plan = planBalance(input({ self: B, replicas: [A, B], holders: all }));
    expect(plan).toEqual({ quota: 2, release: [], acquire: [], handoffPending: true });
    // Once A is down to its quota nothing is pending: B stops hurrying.
    const settled = holders({ 0: A, 1: A, 2: B, 3: B });
    expect(planBalance(input({ self: B, replicas: [A, B], holders: settled, held: [2, 3] }))).toEqual({
      quota: 2,
      release: [],
      acquire: [],
      handoffPending: false,
    });
  });

  it('with 4 shards and 3 replicas a replica at 2 keeps them; one at 0 takes free shards up to 2', () => {
    const spread = holders({ 0: A, 1: A, 2: B, 3: B });
    expect(
      planBalance(input({ self: A, replicas: [A, B, C], holders: spread, held: [0, 1] })).release,
    ).toEqual([]);
    const plan = planBalance(input({ self: C, replicas: [A, B, C], holders: spread }));
    expect(plan).toEqual({ quota: 2, release: [], acquire: [], handoffPending: false });
    // B died: its shards came free; C goes for them, A (at quota) does not.
    const bDied = holders({ 0: A, 1: A });
    expect([...planBalance(input({ self: C, replicas: [A, C], holders: bDied })).acquire].sort()).toEqual([
      2, 3,
    ]);
    expect(planBalance(input({ self: A, replicas: [A, C], holders: bDied, held: [0, 1] })).acquire).toEqual(
      [],
    );
  });

  it("counts a crashed earlier run's leases as open to this replica, but a live twin's as held", () => {
    const earlier = 'gw-a/0ld0ld00';
    const fromEarlier = holders({ 0: earlier, 1: earlier, 2: B, 3: B });
    const plan = planBalance(input({ self: A, replicas: [A, B], holders: fromEarlier }));
    expect([...plan.acquire].sort()).toEqual([0, 1]);
    // The same owner, live in the registry, is another process with our replica id: not ours to take.
    const twin = planBalance(input({ self: A, replicas: [A, B, earlier], holders: fromEarlier }));
    expect(twin.acquire).toEqual([]);
    // Another replica whose id only starts with ours is a peer too.
    const lookalike = holders({ 0: 'gw-a2/1234abcd' });
    expect(planBalance(input({ self: A, holders: lookalike })).acquire).not.toContain(0);
  });

  it('does not count a dead replica (not in the registry) as holding a surplus', () => {
    const dead = 'gw-z/dead0001';
    const plan = planBalance(
      input({ self: B, replicas: [A, B], holders: holders({ 0: dead, 1: dead, 2: dead, 3: A }) }),
    );
    expect(plan).toEqual({ quota: 2, release: [], acquire: [], handoffPending: false });
  });
});
