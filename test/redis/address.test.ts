import { describe, expect, it } from 'vitest';
import { redisAddress } from '../../src/redis/address.js';

describe('redisAddress', () => {
  it.each([
    ['redis://127.0.0.1:6390', '127.0.0.1:6390'],
    ['redis://localhost', 'localhost:6379'],
    ['rediss://user:hunter2@cache.internal:6380/2', 'cache.internal:6380'],
    ['redis://:hunter2@[::1]:6390', '[::1]:6390'],
  ])('%s → %s, without credentials', (url, address) => {
    expect(redisAddress({ kind: 'single', url })).toBe(address);
  });

  it('lists the seed nodes of a Cluster and the master name and nodes of the Sentinels, never a password', () => {
    const cluster = redisAddress({
      kind: 'cluster',
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: 'fd00::2', port: 7001 },
      ],
      password: 'hunter2',
      natMap: {},
    });
    expect(cluster).toBe('cluster 10.0.0.1:7000,[fd00::2]:7001');
    const sentinel = redisAddress({
      kind: 'sentinel',
      name: 'mymaster',
      nodes: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26379 },
      ],
      password: 'hunter2',
      sentinelPassword: 'hunter3',
    });
    expect(sentinel).toBe('sentinel mymaster@s1:26379,s2:26379');
  });
});
