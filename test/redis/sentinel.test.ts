import { Writable } from 'node:stream';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisConnectionConfig } from '../../src/config/types.js';
import { createLogger } from '../../src/log.js';
import type { RedisClient } from '../../src/redis/client.js';
import { closeRedis, connectRedis, createRedisConnections } from '../../src/redis/connections.js';
import { startBridgeOn } from '../helpers/bridge-on.js';
import { startRedisSentinelSet, type RedisSentinelSet } from '../helpers/redis-sentinel.js';
import { deletePrefix, freshPrefix, keysUnder } from '../helpers/redis.js';

const DATA_PASSWORD = 'data-pass-Secret2';
const SENTINEL_PASSWORD = 'sentinel-pass-Secret3';
const GROUP = 'C9F778FE6ADF9D1D1DBE395BF744A33A';

let set: RedisSentinelSet;
let connection: Extract<RedisConnectionConfig, { kind: 'sentinel' }>;
const opened: RedisClient[] = [];

beforeAll(async () => {
  set = await startRedisSentinelSet({ password: DATA_PASSWORD, sentinelPassword: SENTINEL_PASSWORD });
  connection = {
    kind: 'sentinel',
    name: set.name,
    nodes: [{ host: '127.0.0.1', port: set.sentinel.port }],
    password: DATA_PASSWORD,
    sentinelPassword: SENTINEL_PASSWORD,
  };
}, 60_000);

afterAll(async () => {
  await Promise.all(opened.map((client) => closeRedis(client)));
  await set?.cleanup();
});

function track(client: RedisClient): RedisClient {
  client.on('error', () => undefined);
  opened.push(client);
  return client;
}

describe('the connection factory on a Sentinel set (real; data and Sentinel passwords apart)', () => {
  it('asks the Sentinel for the master and writes there, for every purpose', async () => {
    const connections = createRedisConnections({ connection });
    const producer = track(connections.producer());
    expect(producer).not.toBeInstanceOf(Cluster);
    await producer.connect();
    expect(await producer.info('replication')).toContain('role:master');
    expect(await producer.info('server')).toContain(`tcp_port:${set.master.port}\r\n`);
    const key = `${freshPrefix('sentinel')}:k`;
    await producer.set(key, 'v');
    const worker = track(connections.worker());
    expect(await worker.get(key)).toBe('v');
    const command = track(connections.command());
    await command.connect();
    expect(await command.del(key)).toBe(1);
  }, 30_000);

  it('does not reach the master with the wrong Sentinel password, or with the data password for the Sentinel', async () => {
    for (const sentinelPassword of ['wrong-password', DATA_PASSWORD]) {
      const client = track(
        connectRedis({ ...connection, sentinelPassword }, 'command', {
          retryStrategy: () => null,
          sentinelRetryStrategy: () => null,
        }),
      );
      await expect(client.connect()).rejects.toThrow(/All sentinels are unreachable/);
      expect(client.status).not.toBe('ready');
    }
  }, 30_000);

  it('runs the bridge end to end through the Sentinel, and no password reaches the logs', async () => {
    const bridge = await startBridgeOn(connection);
    try {
      const id = bridge.sim.emit('GROUP_ADD_ROBOT', {
        group_openid: GROUP,
        op_member_openid: GROUP,
        timestamp: 1699240248,
      }).id;
      await bridge.receiver.waitFor(1);
      expect(bridge.receiver.requests.map((r) => r.headers['webhook-id'])).toEqual([id]);
      // the queue lives on the Sentinel's master, not on the test Redis
      const master = track(connectRedis(connection, 'command'));
      await master.connect();
      const keys = await keysUnder(master, bridge.prefix);
      expect(keys.length).toBeGreaterThan(0);
      await deletePrefix(bridge.prefix, master);
      expect(bridge.logText()).not.toBe('');
      expect(bridge.logText()).not.toContain(DATA_PASSWORD);
      expect(bridge.logText()).not.toContain(SENTINEL_PASSWORD);
    } finally {
      await bridge.stop();
    }
  }, 60_000);

  it('hides both passwords when the connection settings themselves are logged', () => {
    let text = '';
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        text += chunk.toString('utf8');
        done();
      },
    });
    createLogger({ pretty: false, destination }).info({ redis: { connection } }, 'redis settings');
    expect(text).toContain('"sentinelPassword":"[redacted]"');
    expect(text).toContain('"password":"[redacted]"');
    expect(text).not.toContain(DATA_PASSWORD);
    expect(text).not.toContain(SENTINEL_PASSWORD);
  });
});
