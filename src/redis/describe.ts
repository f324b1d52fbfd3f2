/**
 * How a `redis:` config is shown to an operator (`config check`, start logs, CLI errors): the mode, the node count
 * and the config key, never a password or the URL's credentials.
 */
import type { RedisConnectionConfig } from '../config/types.js';

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/** The config key the connection comes from: `redis.url`, `redis.cluster` or `redis.sentinel`. */
export function redisConfigKey(connection: RedisConnectionConfig): string {
  return connection.kind === 'single' ? 'redis.url' : `redis.${connection.kind}`;
}

/** `single`, `cluster, 3 seed nodes, tls` or `sentinel, master mymaster, 3 Sentinels` — no secrets. */
export function describeRedisMode(connection: RedisConnectionConfig): string {
  switch (connection.kind) {
    case 'single': {
      const tls = connection.url.startsWith('rediss:') ? ', tls' : '';
      return `single${tls}`;
    }
    case 'cluster': {
      const nat = Object.keys(connection.natMap).length;
      return [
        'cluster',
        plural(connection.nodes.length, 'seed node'),
        ...(connection.tls ? ['tls'] : []),
        ...(nat > 0 ? [`nat map of ${plural(nat, 'address')}`] : []),
        ...(connection.password !== undefined ? ['password set'] : []),
      ].join(', ');
    }
    case 'sentinel':
      return [
        'sentinel',
        `master ${connection.name}`,
        plural(connection.nodes.length, 'Sentinel'),
        ...(connection.tls ? ['tls'] : []),
        ...(connection.password !== undefined ? ['password set'] : []),
        ...(connection.sentinelPassword !== undefined ? ['sentinel password set'] : []),
      ].join(', ');
  }
}
