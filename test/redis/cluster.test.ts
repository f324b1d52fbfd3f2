import { createServer, connect, type AddressInfo } from 'node:net';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisConnectionConfig } from '../../src/config/types.js';
import type { RedisClient } from '../../src/redis/client.js';
import { closeRedis, connectRedis, createRedisConnections } from '../../src/redis/connections.js';
import { targetQueuePrefix } from '../../src/redis/keys.js';
import { scanKeys } from '../../src/redis/scan.js';
import { startBridgeOn } from '../helpers/bridge-on.js';
import { startRedisCluster, type RedisCluster } from '../helpers/redis-cluster.js';
import { deletePrefix, freshPrefix, keysUnder } from '../helpers/redis.js';

const GROUP = 'C9F778FE6ADF9D1D1DBE395BF744A33A';

let cluster: RedisCluster;
let connection: Extract<RedisConnectionConfig, { kind: 'cluster' }>;
const opened: RedisClient[] = [];

beforeAll(async () => {
  cluster = await startRedisCluster();
  connection = {
    kind: 'cluster',
    nodes: cluster.nodes.slice(0, 2).map((node) => ({ host: '127.0.0.1', port: Number(node.split(':')[1]) })),
    natMap: {},
  };
}, 60_000);

afterAll(async () => {
  await Promise.all(opened.map((client) => closeRedis(client)));
  await cluster?.cleanup();
});

function open(purpose: 'producer' | 'worker' | 'command'): RedisClient {
  const client = createRedisConnections({ connection })[purpose]();
  client.on('error', () => undefined);
  opened.push(client);
  return client;
}

describe('the connection factory on a Redis Cluster (real, 3 masters)', () => {
  it('builds a Cluster for every purpose, discovering the masters from two seed nodes', async () => {
    const producer = open('producer');
    expect(producer).toBeInstanceOf(Cluster);
    await producer.connect();
    expect((producer as Cluster).nodes('master')).toHaveLength(3);
    // keys in different slots, served by different masters
    // no hash tag in this prefix: the keys' own tags spread them over the slots
    const prefix = freshPrefix('factory').replace(/[{}]/g, '');
    const keys = ['{a}', '{b}', '{c}', '{d}', '{e}'].map((tag) => `${prefix}${tag}`);
    for (const key of keys) await producer.set(key, key);
    const owners = new Set(await Promise.all(keys.map((key) => cluster.masterOf(key))));
    expect(owners.size).toBeGreaterThan(1);
    const worker = open('worker');
    expect(await worker.get(keys[0]!)).toBe(keys[0]);
    const command = open('command');
    await command.connect();
    expect(await command.get(keys[4]!)).toBe(keys[4]);

    // SCAN sees every master's keys, not one node's
    const found: string[] = [];
    await scanKeys(producer, `${prefix}*`, (batch) => Promise.resolve(void found.push(...batch)));
    expect(found.sort()).toEqual([...keys].sort());
    await deletePrefix(prefix, producer);
    expect(await keysUnder(producer, prefix)).toEqual([]);
  }, 30_000);

  it('dials the addresses of nat_map instead of the ones the nodes announce', async () => {
    // One master's announced address mapped to a loopback proxy in front of it: its keys must go through the proxy.
    const key = `${freshPrefix('nat').replace(/[{}]/g, '')}{n}`;
    const masterPort = await cluster.masterOf(key);
    let proxied = 0;
    const proxy = createServer((socket) => {
      proxied++;
      const upstream = connect(masterPort, '127.0.0.1');
      socket.pipe(upstream).pipe(socket);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const { port } = proxy.address() as AddressInfo;
    try {
      const natMap = { [`127.0.0.1:${masterPort}`]: { host: '127.0.0.1', port } };
      const client = connectRedis({ ...connection, natMap }, 'command');
      client.on('error', () => undefined);
      opened.push(client);
      await client.connect();
      await client.set(key, 'through the map');
      expect(await client.get(key)).toBe('through the map');
      expect(proxied).toBeGreaterThan(0);
      await client.del(key);
      await closeRedis(client);
    } finally {
      await new Promise((resolve) => proxy.close(resolve));
    }
  }, 30_000);

  it('runs the bridge end to end: an event reaches the receiver through the Cluster', async () => {
    const bridge = await startBridgeOn(connection);
    try {
      const id = bridge.sim.emit('GROUP_ADD_ROBOT', {
        group_openid: GROUP,
        op_member_openid: GROUP,
        timestamp: 1699240248,
      }).id;
      await bridge.receiver.waitFor(1);
      expect(bridge.receiver.requests.map((r) => r.headers['webhook-id'])).toEqual([id]);
      // the keys live on the cluster, each family in the slot of its own hash tag (src/redis/keys.ts): the target's
      // queue in one slot, the shard's lease and session in one, the bot's readiness in one
      const checker = open('command');
      await checker.connect();
      const keys = await keysUnder(checker, bridge.prefix);
      expect(keys.length).toBeGreaterThan(0);
      const slotOf = (key: string): Promise<unknown> => checker.cluster('KEYSLOT', key);
      const queueKeys = keys.filter((key) => key.startsWith(targetQueuePrefix(bridge.prefix, 'backend')));
      expect(queueKeys.length).toBeGreaterThan(0);
      expect(new Set(await Promise.all(queueKeys.map(slotOf))).size).toBe(1);
      expect(new Set(await Promise.all(keys.map(slotOf))).size).toBeGreaterThan(1);
      await deletePrefix(bridge.prefix, checker);
    } finally {
      await bridge.stop();
    }
  }, 60_000);
});
