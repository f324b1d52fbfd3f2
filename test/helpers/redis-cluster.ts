/**
 * A real Redis Cluster for tests: `redis-server --cluster-enabled yes` on free loopback ports, joined by
 * `redis-cli --cluster create … --cluster-replicas N`, so failover of a killed master can be watched for real.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { startRedisServer, type RedisServer } from './redis-server.js';

const run = promisify(execFile);

export interface RedisClusterOptions {
  /** Masters; default 3 (the fewest `redis-cli --cluster create` accepts). */
  masters?: number;
  /** Replicas per master; default 1. */
  replicasPerMaster?: number;
  /** `cluster-node-timeout`: how long a silent master takes to be failed over; default 1 s. */
  nodeTimeoutMs?: number;
  /** Log every write to an AOF (fsync always), so a restarted node keeps what it acknowledged; default false. */
  appendonly?: boolean;
}

export interface ClusterNodeInfo {
  port: number;
  role: 'master' | 'replica';
  /** Slot ranges a master serves, e.g. `[[0, 5460]]`; empty for a replica. */
  slots: [number, number][];
}

export interface RedisCluster {
  /** Seed nodes as `host:port`, every node of the cluster. */
  readonly nodes: readonly string[];
  readonly servers: readonly RedisServer[];
  /** Every node's current role and slots, as `CLUSTER NODES` on a live node says. */
  topology(): Promise<ClusterNodeInfo[]>;
  /** The port of the master that serves `key`'s slot now. */
  masterOf(key: string): Promise<number>;
  /** SIGKILLs the server on `port`; resolves once it is gone. */
  kill(port: number): Promise<void>;
  /** Resolves once every slot is served by a live master and the cluster state is ok on every live node. */
  waitUntilHealthy(timeoutMs?: number): Promise<void>;
  cleanup(): Promise<void>;
}

/** Starts the nodes, creates the cluster and waits until every slot is served. */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const masters = options.masters ?? 3;
  const replicas = options.replicasPerMaster ?? 1;
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 1_000;
  const servers: RedisServer[] = [];
  try {
    for (let i = 0; i < masters * (1 + replicas); i++) {
      servers.push(
        await startRedisServer({
          appendonly: options.appendonly ?? false,
          settings: [
            ['cluster-enabled', 'yes'],
            ['cluster-config-file', 'nodes.conf'],
            ['cluster-node-timeout', String(nodeTimeoutMs)],
            // a replica promotes itself however long it was cut off from its master
            ['cluster-replica-validity-factor', '0'],
          ],
        }),
      );
    }
    const nodes = servers.map((server) => `127.0.0.1:${server.port}`);
    await run('redis-cli', [
      '--cluster',
      'create',
      ...nodes,
      '--cluster-replicas',
      String(replicas),
      '--cluster-yes',
    ]);
    const cluster = handle(servers, nodes);
    await cluster.waitUntilHealthy(20_000);
    return cluster;
  } catch (err) {
    await Promise.all(servers.map((server) => server.cleanup()));
    throw err;
  }
}

function handle(servers: RedisServer[], nodes: string[]): RedisCluster {
  const live = (): RedisServer[] => servers.filter((server) => server.running);

  async function withNode<T>(use: (redis: Redis) => Promise<T>): Promise<T> {
    let lastError: unknown;
    for (const server of live()) {
      const redis = new Redis(server.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0 });
      try {
        await redis.connect();
        return await use(redis);
      } catch (err) {
        lastError = err;
      } finally {
        redis.disconnect();
      }
    }
    throw new Error(`no live cluster node answered: ${String(lastError)}`);
  }

  async function topology(): Promise<ClusterNodeInfo[]> {
    const text = await withNode((redis) => redis.cluster('NODES') as Promise<string>);
    return parseClusterNodes(text);
  }

  return {
    nodes,
    servers,
    topology,
    async masterOf(key) {
      const slot = await withNode((redis) => redis.cluster('KEYSLOT', key));
      const owner = (await topology()).find(
        (node) => node.role === 'master' && node.slots.some(([from, to]) => slot >= from && slot <= to),
      );
      if (!owner) throw new Error(`no master serves slot ${slot} (key ${key})`);
      return owner.port;
    },
    async kill(port) {
      const server = servers.find((s) => s.port === port);
      if (!server) throw new Error(`no cluster node on port ${port}`);
      await server.stop();
    },
    async waitUntilHealthy(timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      let last = '';
      for (;;) {
        try {
          const states = await Promise.all(
            live().map(async (server) => {
              const redis = new Redis(server.port, '127.0.0.1', {
                lazyConnect: true,
                maxRetriesPerRequest: 0,
              });
              try {
                await redis.connect();
                return await redis.cluster('INFO');
              } finally {
                redis.disconnect();
              }
            }),
          );
          const livePorts = new Set(live().map((server) => server.port));
          const served = (await topology())
            .filter((node) => node.role === 'master' && livePorts.has(node.port))
            .flatMap((node) => node.slots)
            .reduce((sum, [from, to]) => sum + (to - from + 1), 0);
          last = `slots served by live masters ${served}/16384; states ${states.map((s) => /cluster_state:(\w+)/.exec(s)?.[1]).join(',')}`;
          if (served === 16_384 && states.every((s) => s.includes('cluster_state:ok'))) return;
        } catch (err) {
          last = String(err);
        }
        if (Date.now() > deadline) throw new Error(`cluster not healthy within ${timeoutMs} ms: ${last}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    async cleanup() {
      await Promise.all(servers.map((server) => server.cleanup()));
    },
  };
}

/** `CLUSTER NODES` → role and slots per node; nodes marked `fail` count as neither master nor replica of note. */
export function parseClusterNodes(text: string): ClusterNodeInfo[] {
  const nodes: ClusterNodeInfo[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(' ');
    if (fields.length < 8) continue;
    const [, address = '', flags = ''] = fields;
    const port = Number(/:(\d+)/.exec(address)?.[1]);
    if (flags.includes('fail') && !flags.includes('fail?')) continue;
    const role = flags.includes('master') ? 'master' : 'replica';
    const slots: [number, number][] = [];
    for (const range of fields.slice(8)) {
      if (range.startsWith('[')) continue; // a slot being migrated
      const [from, to] = range.split('-').map(Number);
      if (from !== undefined && Number.isInteger(from)) slots.push([from, to ?? from]);
    }
    nodes.push({ port, role, slots });
  }
  return nodes;
}
