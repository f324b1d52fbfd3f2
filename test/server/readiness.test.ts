import { describe, expect, expectTypeOf, it } from 'vitest';
import type { ShardStatus } from '../../src/gateway/session.js';
import type { DurableSink } from '../../src/queue/durable-sink.js';
import { evaluateReadiness, type HealthReport } from '../../src/server/readiness.js';

function report(overrides: Partial<HealthReport> = {}): HealthReport {
  return {
    role: 'all',
    started: true,
    shards: [
      { shard: [0, 2], status: 'ready', seq: 7, saveFailing: false },
      { shard: [1, 2], status: 'resumed', seq: null, saveFailing: false },
    ],
    redis: 'up',
    journal: { mode: 'direct', events: 0 },
    ...overrides,
  };
}

const shards = (...statuses: ShardStatus[]): HealthReport['shards'] =>
  statuses.map((status, id) => ({
    shard: [id, statuses.length] as const,
    status,
    seq: null,
    saveFailing: false,
  }));

const failingSave = (status: ShardStatus): HealthReport['shards'] => [
  { shard: [0, 1], status, seq: 3, saveFailing: true },
];

describe('evaluateReadiness', () => {
  it.each<[string, Partial<HealthReport>, 200 | 503, string, string[]]>([
    ['every shard ready or resumed, redis up', {}, 200, 'ready', []],
    ['app still starting', { started: false, shards: [] }, 503, 'not_ready', ['starting']],
    [
      'a shard connecting',
      { shards: shards('ready', 'connecting') },
      503,
      'not_ready',
      ['shard 1/2 connecting'],
    ],
    ['a shard resuming', { shards: shards('resuming') }, 503, 'not_ready', ['shard 0/1 resuming']],
    ['a shard waiting to reconnect', { shards: shards('waiting') }, 503, 'not_ready', ['shard 0/1 waiting']],
    ['a fatal shard', { shards: shards('fatal') }, 503, 'not_ready', ['shard 0/1 fatal']],
    [
      'a stopped shard (shutting down)',
      { shards: shards('stopped') },
      503,
      'not_ready',
      ['shard 0/1 stopped'],
    ],
    ['redis down', { redis: 'down' }, 503, 'not_ready', ['redis down']],
    [
      'journaling with redis up',
      { journal: { mode: 'journaling', events: 12 } },
      503,
      'degraded',
      ['journaling: 12 events'],
    ],
    [
      'journaling because redis is down: not_ready wins, both reasons listed',
      { redis: 'down', journal: { mode: 'journaling', events: 5 } },
      503,
      'not_ready',
      ['redis down', 'journaling: 5 events'],
    ],
    [
      'a ready shard whose last session save failed',
      { shards: failingSave('ready') },
      503,
      'degraded',
      ['shard 0/1 session save failing'],
    ],
    [
      'a save failing while redis is down: not_ready wins, both reasons listed',
      { redis: 'down', shards: failingSave('resumed') },
      503,
      'not_ready',
      ['redis down', 'shard 0/1 session save failing'],
    ],
    ['a standby gateway replica holding no shards', { role: 'gateway', shards: [] }, 200, 'ready', []],
    ['a worker with redis up', { role: 'worker', shards: [] }, 200, 'ready', []],
    [
      'a worker with redis down',
      { role: 'worker', shards: [], redis: 'down' },
      503,
      'not_ready',
      ['redis down'],
    ],
    [
      'a worker ignores shard and journal fields',
      { role: 'worker', shards: failingSave('connecting'), journal: { mode: 'journaling', events: 1 } },
      200,
      'ready',
      [],
    ],
  ])('%s → %i %s', (_name, overrides, httpStatus, status, reasons) => {
    const result = evaluateReadiness(report(overrides));
    expect(result.httpStatus).toBe(httpStatus);
    expect(result.body.status).toBe(status);
    expect(result.body.reasons).toEqual(reasons);
  });

  it('names Redis, the cause and the attempt while it is down, at start and after a loss', () => {
    const redisProblem = {
      address: '127.0.0.1:6390',
      cause: { message: 'connect ECONNREFUSED 127.0.0.1:6390', code: 'ECONNREFUSED' },
      attempt: 12,
    };
    const { httpStatus, body } = evaluateReadiness(
      report({ started: false, shards: [], redis: 'down', redisProblem }),
    );
    expect(httpStatus).toBe(503);
    expect(body.reasons).toEqual(['starting', 'Redis 127.0.0.1:6390 unreachable: ECONNREFUSED, attempt 12']);
    expect(body.redis_link).toEqual({ address: '127.0.0.1:6390', cause: 'ECONNREFUSED', attempt: 12 });
    // Without a code (a Redis error reply, a Sentinel's answer) the message is the cause.
    const wrongPass = evaluateReadiness(
      report({
        redis: 'down',
        redisProblem: { ...redisProblem, cause: { message: 'WRONGPASS invalid username-password pair' } },
      }),
    );
    expect(wrongPass.body.reasons).toEqual([
      'Redis 127.0.0.1:6390 unreachable: WRONGPASS invalid username-password pair, attempt 12',
    ]);
    // Once Redis is up again, a stale problem is not reported.
    expect(evaluateReadiness(report({ redis: 'up', redisProblem })).body).not.toHaveProperty('redis_link');
  });

  it('reports shards without their session ids, plus redis and journal state', () => {
    const withSession = {
      shard: [0, 1] as const,
      status: 'ready' as const,
      seq: 42,
      saveFailing: false,
      sessionId: 'secret-session',
    };
    const { body } = evaluateReadiness(
      report({ shards: [withSession], journal: { mode: 'direct', events: 0 } }),
    );
    expect(body).toEqual({
      status: 'ready',
      reasons: [],
      shards: [{ shard: [0, 1], status: 'ready', seq: 42 }],
      redis: 'up',
      journal: { mode: 'direct', events: 0 },
    });
    expect(JSON.stringify(body)).not.toContain('secret-session');
  });

  it('takes exactly the journal modes the durable sink reports (checked by the type check)', () => {
    expectTypeOf<HealthReport['journal']['mode']>().toEqualTypeOf<ReturnType<DurableSink['mode']>>();
  });
});
