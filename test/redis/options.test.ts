import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BridgeError } from '../../src/errors.js';
import { clusterOptions, sentinelOptions } from '../../src/redis/options.js';

const NODES = [{ host: '10.0.0.5', port: 6379 }];

describe('ioredis options from the redis config', () => {
  it('gives a Cluster its credentials, TLS and timeouts per node, and its retry strategy as the cluster one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'qqwb-tls-'));
    const caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, 'PEM');
    const options = clusterOptions(
      {
        kind: 'cluster',
        nodes: NODES,
        password: 'pw',
        tls: { caFile, servername: 'redis.internal', rejectUnauthorized: true },
        natMap: {},
      },
      { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: null, retryStrategy: () => 7 },
    );
    expect(options.clusterRetryStrategy?.(1)).toBe(7);
    expect(options).toMatchObject({ lazyConnect: true, enableOfflineQueue: false });
    expect(options.natMap).toBeUndefined();
    expect(options.redisOptions).toMatchObject({
      password: 'pw',
      maxRetriesPerRequest: null,
      tls: { servername: 'redis.internal', rejectUnauthorized: true, ca: Buffer.from('PEM') },
    });
  });

  it('refuses an unreadable ca_file at start, naming the setting and the path', () => {
    const build = (): unknown =>
      sentinelOptions(
        {
          kind: 'sentinel',
          name: 'mymaster',
          nodes: NODES,
          tls: { caFile: '/nonexistent/ca.pem', rejectUnauthorized: true },
        },
        {},
      );
    expect(build).toThrow(BridgeError);
    expect(build).toThrow(
      /^redis\.sentinel\.tls\.ca_file \/nonexistent\/ca\.pem cannot be read \(.*\); fix the path/,
    );
  });

  it('uses TLS to the Sentinels too, and keeps the two passwords apart', () => {
    const options = sentinelOptions(
      {
        kind: 'sentinel',
        name: 'mymaster',
        nodes: NODES,
        password: 'data',
        sentinelPassword: 'sentinel',
        tls: { rejectUnauthorized: false },
      },
      { maxRetriesPerRequest: null },
    );
    expect(options).toMatchObject({
      sentinels: NODES,
      name: 'mymaster',
      role: 'master',
      password: 'data',
      sentinelPassword: 'sentinel',
      maxRetriesPerRequest: null,
      tls: { rejectUnauthorized: false },
      sentinelTLS: { rejectUnauthorized: false },
      enableTLSForSentinelMode: true,
    });
  });
});
