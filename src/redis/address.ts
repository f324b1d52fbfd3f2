/**
 * Where the bridge looks for Redis, as an operator reads it in logs and `/readyz`: `127.0.0.1:6379` for `redis.url`,
 * the seed nodes of a Cluster, the master name and nodes of the Sentinels. Built from host and port only, so no
 * password or URL credential can appear in it.
 */
import type { RedisConnectionConfig } from '../config/types.js';

interface Node {
  readonly host: string;
  readonly port: number;
}

/** `host:port`, with an IPv6 host in brackets. */
function nodeAddress({ host, port }: Node): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** `host:port` of a `redis://` or `rediss://` URL (6379 when it names no port); the credentials never. */
function urlAddress(url: string): string {
  try {
    const parsed = new URL(url);
    // URL keeps an IPv6 host's brackets already.
    if (parsed.hostname === '') return 'redis.url';
    return `${parsed.hostname}:${parsed.port === '' ? '6379' : parsed.port}`;
  } catch {
    // The config loader validated the URL; this is only defensive, and must not echo a possible password.
    return 'redis.url';
  }
}

/** `127.0.0.1:6379`, `cluster 10.0.0.1:7000,10.0.0.2:7000`, `sentinel mymaster@10.0.0.1:26379,10.0.0.2:26379`. */
export function redisAddress(connection: RedisConnectionConfig): string {
  switch (connection.kind) {
    case 'single':
      return urlAddress(connection.url);
    case 'cluster':
      return `cluster ${connection.nodes.map(nodeAddress).join(',')}`;
    case 'sentinel':
      return `sentinel ${connection.name}@${connection.nodes.map(nodeAddress).join(',')}`;
  }
}
