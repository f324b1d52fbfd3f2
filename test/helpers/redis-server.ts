/**
 * A real `redis-server` process for tests that kill Redis: SIGKILL it, start it again on the same port and data
 * directory (with AOF, acknowledged writes survive), and watch the bridge cope.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { freePort } from '../../src/demo/redis.js';

export interface RedisServerOptions {
  /** Log every write to an AOF, fsynced before the reply, so a SIGKILL loses nothing acknowledged; default false. */
  appendonly?: boolean;
  /** Data directory; default a fresh temp dir that cleanup() removes. */
  dir?: string;
  /** How long start() waits for PING; default 10 s. */
  readyTimeoutMs?: number;
  /** More `--name value` settings, e.g. `['cluster-enabled', 'yes']` or `['replicaof', '127.0.0.1 6380']`. */
  settings?: readonly [string, string][];
  /**
   * Run as a Sentinel: `redis-server <dir>/sentinel.conf --sentinel`, with these lines in the file (Sentinel
   * rewrites its config, so it needs one it may write).
   */
  sentinelConfig?: readonly string[];
  /** The port to listen on; default a free one. */
  port?: number;
}

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  readonly running: boolean;
  /** Starts the server (again) on the same port and dir; resolves once it answers PING (AOF loaded). */
  start(): Promise<void>;
  /** SIGKILL — no shutdown save, like a crash; resolves once the process is gone. */
  stop(): Promise<void>;
  /** stop(), then removes the data dir if this helper created it. Safe to call twice. */
  cleanup(): Promise<void>;
}

/** True once the server on `port` answers PING: PONG, or NOAUTH from a server with a password (it is up). */
function pingOnce(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('utf8');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG') || reply.startsWith('-NOAUTH'));
    });
  });
}

/** Children still alive when the test process exits are killed, so a crashed test never leaks a server. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

/** Spawns `redis-server` on a free loopback port and waits until it answers PING. */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  installExitHook();
  const ownsDir = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'qqwb-redis-')));
  const port = options.port ?? (await freePort());
  const readyTimeoutMs = options.readyTimeoutMs ?? 10_000;
  // `save ""` turns RDB snapshots off, so the AOF alone decides what survives a SIGKILL.
  const settings: [string, string][] = [
    ['port', String(port)],
    ['bind', '127.0.0.1'],
    ['dir', dir],
    ['save', ''],
    ['appendonly', options.appendonly ? 'yes' : 'no'],
    ['appendfsync', 'always'],
    ['daemonize', 'no'],
    ['logfile', ''],
    ...(options.settings ?? []),
  ];
  const args = settings.flatMap(([name, value]) => [`--${name}`, value]);
  if (options.sentinelConfig) {
    const file = join(dir, 'sentinel.conf');
    await writeFile(file, `${options.sentinelConfig.join('\n')}\n`);
    args.unshift(file, '--sentinel');
  }
  let child: ChildProcess | undefined;
  let cleanedUp = false;

  async function stop(): Promise<void> {
    const current = child;
    child = undefined;
    if (!current || current.exitCode !== null || current.signalCode !== null) {
      if (current) live.delete(current);
      return;
    }
    const exited = new Promise<void>((resolve) => current.once('exit', () => resolve()));
    current.kill('SIGKILL');
    await exited;
    live.delete(current);
  }

  async function start(): Promise<void> {
    if (child) throw new Error(`redis-server on port ${port} is already running`);
    const spawned = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = spawned;
    live.add(spawned);
    let output = '';
    const collect = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-4000);
    };
    spawned.stdout?.on('data', collect);
    spawned.stderr?.on('data', collect);
    let failure: Error | undefined;
    spawned.once('error', (err) => (failure = err));
    spawned.once('exit', (code, signal) => {
      live.delete(spawned);
      failure ??= new Error(`redis-server exited (${signal ?? code}) before answering PING:\n${output}`);
    });
    const deadline = Date.now() + readyTimeoutMs;
    for (;;) {
      if (failure && child === spawned) {
        child = undefined;
        throw failure;
      }
      if (await pingOnce(port)) return;
      if (Date.now() > deadline) {
        await stop();
        throw new Error(
          `redis-server on port ${port} did not answer PING within ${readyTimeoutMs} ms:\n${output}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  try {
    await start();
  } catch (err) {
    if (ownsDir) await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    get running() {
      return child !== undefined;
    },
    start,
    stop,
    async cleanup() {
      await stop();
      if (ownsDir && !cleanedUp) {
        cleanedUp = true;
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}
