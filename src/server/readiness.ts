import type { Role } from '../roles/role.js';
import type { ShardStatus } from '../gateway/session.js';
import type { SinkMode } from '../queue/durable-sink.js';
import type { RedisLinkProblem } from '../redis/link.js';

/**
 * Where the journal stands, exactly as the durable sink reports it: `direct` — events go straight to Redis;
 * `journaling` — events go to the local journal, behind what it holds, both while Redis is away and while the
 * journal is being drained into Redis after it returned. The report's `redis` tells the two apart (`journaling`
 * with Redis up is normally the drain), so the sink needs no third state for it.
 */
export type JournalMode = SinkMode;

/** One held shard, as `GatewaySession.snapshot()` reports it (extra fields such as `sessionId` are ignored). */
export interface ShardHealth {
  readonly shard: readonly [number, number];
  readonly status: ShardStatus;
  readonly seq: number | null;
  /** The last save of the shard's session id and seq failed. */
  readonly saveFailing: boolean;
}

/** Everything `/readyz` needs to know, gathered by the composition root at request time. */
export interface HealthReport {
  /** A `worker` holds no shards and no journal: only `started` and Redis decide its readiness. */
  readonly role: Role;
  /** False until the app's `start()` has finished, so an empty shard list during startup is not "all ready". */
  readonly started: boolean;
  /** The shards this process holds; empty for a worker, and for a gateway replica standing by for a lease. */
  readonly shards: readonly ShardHealth[];
  readonly redis: 'up' | 'down';
  /** While Redis is down and an attempt has failed: where, why and how many attempts (at start and after a loss). */
  readonly redisProblem?: RedisLinkProblem;
  /** A worker has no journal; it reports `{ mode: 'direct', events: 0 }`. */
  readonly journal: { readonly mode: JournalMode; readonly events: number };
}

export type ReadinessStatus = 'ready' | 'degraded' | 'not_ready';

/** The JSON body of `/readyz`. Session ids are left out on purpose: with a token they would allow a RESUME. */
export interface ReadinessBody {
  status: ReadinessStatus;
  reasons: string[];
  shards: { shard: [number, number]; status: ShardStatus; seq: number | null }[];
  redis: 'up' | 'down';
  /** Present while Redis is down and an attempt has failed. Built from host and port only: no credentials. */
  redis_link?: { address: string; cause: string; attempt: number };
  journal: { mode: JournalMode; events: number };
}

/** `ECONNREFUSED` rather than the whole message when the error has a code: the address is already said. */
function shortCause(problem: RedisLinkProblem): string {
  return problem.cause.code ?? problem.cause.message;
}

/** `Redis 127.0.0.1:6390 unreachable: ECONNREFUSED, attempt 12`, or `redis down` before any attempt failed. */
function redisReason(problem: RedisLinkProblem | undefined): string {
  if (!problem) return 'redis down';
  return `Redis ${problem.address} unreachable: ${shortCause(problem)}, attempt ${problem.attempt}`;
}

/** READY and RESUMED are the two states in which a shard is receiving events. */
export const HEALTHY_SHARD_STATUSES: ReadonlySet<ShardStatus> = new Set<ShardStatus>(['ready', 'resumed']);

/**
 * Decides `/readyz` (docs/design.md §6): ready when every held shard is READY or RESUMED and Redis is up. A worker-only
 * process holds no shards and no journal, so for it Redis alone decides. A gateway replica standing by for a
 * lease holds no shards either and is ready: it is doing its job, which is to wait.
 *
 * `degraded` (the journal is spilling or draining, or a shard cannot save its seq, while everything else is fine)
 * answers **503**, not 200: the process loses nothing, but its events wait on one machine's disk, or a restart
 * would resume from an older seq (or not at all), so a load balancer or rollout should prefer a healthy replica,
 * and an alert on readiness should fire. Liveness (`/healthz`) stays 200 throughout, because restarting would not
 * help. The body's `status` still tells `degraded` from `not_ready`.
 */
export function evaluateReadiness(report: HealthReport): { httpStatus: 200 | 503; body: ReadinessBody } {
  const blocking: string[] = [];
  const degrading: string[] = [];
  const holdsGateway = report.role !== 'worker';
  if (!report.started) blocking.push('starting');
  for (const { shard, status, saveFailing } of holdsGateway ? report.shards : []) {
    if (!HEALTHY_SHARD_STATUSES.has(status)) blocking.push(`shard ${shard[0]}/${shard[1]} ${status}`);
    if (saveFailing) degrading.push(`shard ${shard[0]}/${shard[1]} session save failing`);
  }
  if (report.redis === 'down') blocking.push(redisReason(report.redisProblem));
  if (holdsGateway && report.journal.mode !== 'direct') {
    degrading.push(`${report.journal.mode}: ${report.journal.events} events`);
  }

  const status: ReadinessStatus =
    blocking.length > 0 ? 'not_ready' : degrading.length > 0 ? 'degraded' : 'ready';
  return {
    httpStatus: status === 'ready' ? 200 : 503,
    body: {
      status,
      reasons: [...blocking, ...degrading],
      shards: report.shards.map(({ shard, status: shardStatus, seq }) => ({
        shard: [shard[0], shard[1]],
        status: shardStatus,
        seq,
      })),
      redis: report.redis,
      ...(report.redis === 'down' && report.redisProblem
        ? {
            redis_link: {
              address: report.redisProblem.address,
              cause: shortCause(report.redisProblem),
              attempt: report.redisProblem.attempt,
            },
          }
        : {}),
      journal: { mode: report.journal.mode, events: report.journal.events },
    },
  };
}
