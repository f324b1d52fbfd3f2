import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer, type AddressInfo } from 'node:net';
import type { RedisClient } from '../redis/client.js';
import { connectRedis } from '../redis/connections.js';
import { deleteKeys, scanKeys } from '../redis/scan.js';
import { BridgeError, describeError } from '../errors.js';
import { keyPatterns } from '../redis/keys.js';

/** The Redis the demo uses, and how to let go of it. */
export interface DemoRedis {
  readonly url: string;
  /** Where it came from, for the demo's first lines. */
  readonly origin: string;
  /** Stops the redis-server the demo started; does nothing for a Redis it found. */
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 10_000;

/** Where {@link resolveDemoRedis} looks; overridable so tests can take the other branches. */
export interface DemoRedisSources {
  /** The port probed on 127.0.0.1 when `REDIS_URL` is unset. Default 6379. */
  readonly localPort?: number;
  /** The server binary started when nothing answers. Default `redis-server` (looked up on PATH). */
  readonly command?: string;
}

/** The one line printed when the demo finds no Redis and cannot start one. */
export const REDIS_MISSING =
  'the demo needs Redis: REDIS_URL is not set, nothing answers on 127.0.0.1:6379, and redis-server is not ' +
  'installed. Install it (apt-get install redis-server, or brew install redis) or run one ' +
  '(docker run -p 6379:6379 redis), then run the demo again.';

/** One raw PING; true on `+PONG` (a loading server answers `-LOADING`, a stopped one refuses the connection). */
export function pingRedis(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('utf8');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

/** A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Starts a throwaway `redis-server` (no persistence) on a free loopback port and waits for PING. */
async function startRedisServer(command: string): Promise<DemoRedis> {
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  const child = spawn(command, args, { stdio: 'ignore' });
  // However the demo ends, a server it started must not outlive it.
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  let failure: Error | undefined;
  child.once('error', (err: NodeJS.ErrnoException) => {
    failure = err.code === 'ENOENT' ? new BridgeError('BRIDGE_ERR_REDIS', REDIS_MISSING) : err;
  });
  child.once('exit', (code, signal) => {
    failure ??= new BridgeError(
      'BRIDGE_ERR_REDIS',
      `redis-server exited (${signal ?? code}) on port ${port}`,
    );
  });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(await pingRedis(port))) {
    if (failure !== undefined || Date.now() > deadline) {
      process.off('exit', killOnExit);
      child.kill('SIGKILL');
      throw (
        failure ?? new BridgeError('BRIDGE_ERR_REDIS', `redis-server on port ${port} did not answer PING`)
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    origin: `a redis-server the demo started on port ${port} (stopped at the end)`,
    async stop() {
      await stopChild(child);
      process.off('exit', killOnExit);
    },
  };
}

/**
 * The Redis for the demo: `REDIS_URL` when set; else the one on 127.0.0.1:6379 if it answers PING; else a
 * `redis-server` started for the demo. Throws BRIDGE_ERR_REDIS with {@link REDIS_MISSING} when none of those works.
 */
export async function resolveDemoRedis(
  redisUrl: string | undefined,
  sources: DemoRedisSources = {},
): Promise<DemoRedis> {
  const none = (): Promise<void> => Promise.resolve();
  if (redisUrl !== undefined && redisUrl !== '') return { url: redisUrl, origin: 'REDIS_URL', stop: none };
  const localPort = sources.localPort ?? 6379;
  if (await pingRedis(localPort)) {
    return {
      url: `redis://127.0.0.1:${localPort}`,
      origin: `the Redis on 127.0.0.1:${localPort}`,
      stop: none,
    };
  }
  return startRedisServer(sources.command ?? 'redis-server');
}

/**
 * Deletes every key of `prefix`, in either key layout (SCAN, never KEYS, so a shared Redis is not blocked; every
 * master of a Cluster).
 */
export async function deleteKeysWithPrefix(redis: RedisClient, prefix: string): Promise<void> {
  for (const pattern of keyPatterns(prefix))
    await scanKeys(redis, pattern, (keys) => deleteKeys(redis, keys));
}

/**
 * Fails fast, with BRIDGE_ERR_REDIS, when the Redis at `url` does not answer PING within a few seconds: the bridge
 * itself would wait for it forever. The message names `origin` (e.g. `REDIS_URL`), never the URL and its password.
 */
export async function assertRedisAnswers(url: string, origin: string): Promise<void> {
  const redis = connectRedis({ kind: 'single', url }, 'command', {
    connectTimeout: 3_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  // The socket error (ECONNREFUSED, ENOTFOUND…) says more than the "Connection is closed" that connect() rejects with.
  let socketError: Error | undefined;
  redis.on('error', (err: Error) => (socketError ??= err));
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    const reason = describeError(socketError ?? err);
    throw new BridgeError('BRIDGE_ERR_REDIS', `the demo's Redis (${origin}) does not answer: ${reason}`, {
      cause: err,
    });
  } finally {
    redis.disconnect();
  }
}
