import type { GatewaySession } from './session.js';

/**
 * What the shard manager (and a leased shard) needs of a shard's session: a plain GatewaySession, or a
 * RotatingShard that replaces its session now and then while keeping this same face.
 */
export type ShardSession = Pick<GatewaySession, 'start' | 'stop' | 'snapshot' | 'currentStatus'>;
