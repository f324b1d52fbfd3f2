/**
 * An outbound worker in its own process, for the crash test: forked with an IPC channel, it reports every result
 * to the parent, which SIGKILLs it mid-queue (no close, no lock release, no completion of what is in flight).
 * Environment: QQWB_SIM_ORIGIN, QQWB_PREFIX, QQWB_STALL_MS (the job lock, so a dead worker's jobs come back fast).
 */
import { Redis } from 'ioredis';
import { silentLogger } from '../../src/log.js';
import { GatewayReadiness } from '../../src/outbound/gateway-ready.js';
import { startOutboundWorker, type OutboundOutcome } from '../../src/outbound/worker.js';
import { AccessTokenManager } from '../../src/qq/access-token.js';
import { testConfig } from '../helpers/config.js';
import { REDIS_URL } from '../helpers/redis.js';

export type WorkerMessage =
  { kind: 'started' } | { kind: 'result'; id: string; outcome: OutboundOutcome; attempts: number };

function send(message: WorkerMessage): void {
  process.send?.(message);
}

const base = testConfig({
  simulatorOrigin: process.env['QQWB_SIM_ORIGIN'] ?? '',
  prefix: process.env['QQWB_PREFIX'] ?? '',
});
const stallMs = Number(process.env['QQWB_STALL_MS']);
const config = {
  ...base,
  delivery: { ...base.delivery, stallTimeoutMs: stallMs },
  // slow enough that the parent's kill lands with most of the queue still to send
  outbound: { ...base.outbound, concurrency: 4, rateLimit: { max: 10, perMs: 1000 } },
};
const logger = silentLogger();
const readinessRedis = new Redis(REDIS_URL);
startOutboundWorker({
  config,
  connection: new Redis(REDIS_URL, { maxRetriesPerRequest: null }),
  tokens: new AccessTokenManager({
    tokenUrl: config.qq.tokenUrl,
    appId: config.qq.appId,
    clientSecret: config.qq.clientSecret,
    logger,
  }),
  readiness: new GatewayReadiness(readinessRedis, config.redis.prefix, config.qq.appId),
  logger,
  onResult: (data, result) =>
    send({ kind: 'result', id: data.id, outcome: result.outcome, attempts: result.attempts }),
});
send({ kind: 'started' });
