/**
 * A real Sentinel-managed Redis for tests: a master, its replica and one Sentinel (`redis-server --sentinel`), on
 * free loopback ports. Killing the master makes the Sentinel promote the replica, as in production.
 */
import { Redis } from 'ioredis';
import { startRedisServer, type RedisServer } from './redis-server.js';

export interface RedisSentinelSetOptions {
  /** The name the Sentinel monitors the master under; default `qqwb-test`. */
  name?: string;
  /** `down-after-milliseconds`: how long a silent master takes to be failed over; default 1 s. */
  downAfterMs?: number;
  /** A password on master and replica (`requirepass` / `masterauth`); default none. */
  password?: string;
  /** A password on the Sentinel itself (`requirepass` in its config); default none. */
  sentinelPassword?: string;
  /** Log every write to an AOF (fsync always); default false. */
  appendonly?: boolean;
}

export interface RedisSentinelSet {
  readonly name: string;
  /** The Sentinel, as `host:port`. */
  readonly sentinels: readonly string[];
  readonly master: RedisServer;
  readonly replica: RedisServer;
  readonly sentinel: RedisServer;
  /** The port the Sentinel names as master now. */
  masterPort(): Promise<number>;
  /** Resolves once the Sentinel names a master other than `port` and that node answers as a master. */
  waitForFailover(fromPort: number, timeoutMs?: number): Promise<number>;
  cleanup(): Promise<void>;
}

export async function startRedisSentinelSet(
  options: RedisSentinelSetOptions = {},
): Promise<RedisSentinelSet> {
  const name = options.name ?? 'qqwb-test';
  const auth: [string, string][] = options.password
    ? [
        ['requirepass', options.password],
        ['masterauth', options.password],
      ]
    : [];
  const started: RedisServer[] = [];
  try {
    const master = await startRedisServer({ appendonly: options.appendonly ?? false, settings: auth });
    started.push(master);
    const replica = await startRedisServer({
      appendonly: options.appendonly ?? false,
      settings: [...auth, ['replicaof', `127.0.0.1 ${master.port}`]],
    });
    started.push(replica);
    await waitForReplication(master.port, options.password);
    const sentinel = await startRedisServer({
      sentinelConfig: [
        `sentinel monitor ${name} 127.0.0.1 ${master.port} 1`,
        `sentinel down-after-milliseconds ${name} ${options.downAfterMs ?? 1_000}`,
        `sentinel failover-timeout ${name} 5000`,
        `sentinel parallel-syncs ${name} 1`,
        ...(options.password ? [`sentinel auth-pass ${name} ${options.password}`] : []),
        ...(options.sentinelPassword ? [`requirepass ${options.sentinelPassword}`] : []),
      ],
    });
    started.push(sentinel);
    const ask = async (): Promise<number> => {
      const redis = new Redis(sentinel.port, '127.0.0.1', {
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        ...(options.sentinelPassword ? { password: options.sentinelPassword } : {}),
      });
      try {
        await redis.connect();
        const reply = (await redis.call('SENTINEL', 'get-master-addr-by-name', name)) as
          [string, string] | null;
        if (!reply) throw new Error(`the Sentinel does not know master ${name}`);
        return Number(reply[1]);
      } finally {
        redis.disconnect();
      }
    };
    return {
      name,
      sentinels: [`127.0.0.1:${sentinel.port}`],
      master,
      replica,
      sentinel,
      masterPort: ask,
      async waitForFailover(fromPort, timeoutMs = 20_000) {
        const deadline = Date.now() + timeoutMs;
        let last = '';
        for (;;) {
          try {
            const port = await ask();
            if (port !== fromPort && (await roleOf(port, options.password)) === 'master') return port;
            last = `Sentinel names ${port}`;
          } catch (err) {
            last = String(err);
          }
          if (Date.now() > deadline)
            throw new Error(`no failover from ${fromPort} within ${timeoutMs} ms: ${last}`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      },
      async cleanup() {
        await Promise.all(started.map((server) => server.cleanup()));
      },
    };
  } catch (err) {
    await Promise.all(started.map((server) => server.cleanup()));
    throw err;
  }
}

async function roleOf(port: number, password: string | undefined): Promise<string> {
  const redis = new Redis(port, '127.0.0.1', {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    ...(password ? { password } : {}),
  });
  try {
    await redis.connect();
    const [role] = (await redis.call('ROLE')) as [string];
    return role;
  } finally {
    redis.disconnect();
  }
}

/** Waits until the master reports a connected replica in sync, so a failover has something to promote. */
async function waitForReplication(masterPort: number, password: string | undefined): Promise<void> {
  const redis = new Redis(masterPort, '127.0.0.1', {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    ...(password ? { password } : {}),
  });
  try {
    await redis.connect();
    const deadline = Date.now() + 10_000;
    for (;;) {
      const info = await redis.info('replication');
      if (/slave0:.*state=online/.test(info)) return;
      if (Date.now() > deadline) throw new Error(`replica did not sync with ${masterPort}:\n${info}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    redis.disconnect();
  }
}
