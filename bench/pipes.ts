/**
 * The two pipes under test, each in its own process, both fed by the bench's simulator and delivering to the
 * same receiver: the bridge (`node dist/cli.js run` with a generated config) and the naive baseline
 * (bench/naive-pipe.ts).
 */
import type { ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { Simulator } from '../src/simulator/index.js';
import { metricsUrlFromLog } from './bridge-metrics.js';
import { exited, spawnTracked, stopChild } from './children.js';
import type { NaiveSpec } from './naive-pipe.js';
import { REPO_ROOT } from './options.js';
import { plainJavaScript } from './transpile.js';

/** A running pipe. */
export interface Pipe {
  readonly pid: number;
  /** The bridge's `GET /metrics`; undefined for the naive pipe. */
  readonly metricsUrl?: string;
  /** SIGTERM, a graceful stop, SIGKILL after a grace period. Resolves with the exit code. */
  stop(): Promise<number | string | null>;
}

/** The simulator's credentials, which the bridge and the naive pipe both use. */
export const SIM_APP_ID = '102000000';
export const SIM_SECRET = 'simulator-secret';
/** A fixed test signing key (the bench measures signing; the receiver does not verify). */
const WEBHOOK_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 15_000;

export interface BridgeSpec {
  /** Path of the built CLI (dist/cli.js). */
  cli: string;
  name: string;
  workDir: string;
  sim: Simulator;
  redisUrl: string;
  /** YAML `redis.cluster`, e.g. `{ nodes: ['127.0.0.1:7000'] }`; replaces `redisUrl` when present. */
  redisCluster?: { nodes: readonly string[] };
  /** YAML `redis.min_replicas`; the bridge's default (1 on a cluster, 0 on a url) when absent. */
  minReplicas?: number;
  prefix: string;
  targetUrls: readonly string[];
  concurrency: number;
  /** YAML `retry` of every target, e.g. `{ attempts: 15, base: '1s', max: '1h' }`. */
  retry: { attempts: number; base: string; max: string };
  /** Extra node flags, e.g. `--cpu-prof`. */
  nodeArgs?: readonly string[];
  /** Extra environment variables, beside the bench's own environment. */
  env?: Readonly<Record<string, string>>;
  /** `--role`; default `all`. `gateway` enqueues without delivering. */
  role?: 'all' | 'gateway';
  /** YAML `outbound.rate_limit`, e.g. `{ max: 10000, per: '1s' }`; the bridge's default when absent. */
  outboundRateLimit?: { max: number; per: string };
  /** Keys of the YAML `gateway` section, e.g. `{ rotate_every: '3s' }`; the bridge's defaults when absent. */
  gateway?: Record<string, string>;
}

/** A running bridge: a pipe that can also be killed without any shutdown (kill -9). */
export interface BridgePipe extends Pipe {
  /** SIGKILL; resolves once it has exited. */
  kill9(): Promise<number | string | null>;
}

/** Writes the bridge's YAML config: the documented defaults except what a benchmark must set. */
function writeBridgeConfig(spec: BridgeSpec): string {
  const config = {
    qq: {
      app_id: SIM_APP_ID,
      client_secret: SIM_SECRET,
      token_url: `${spec.sim.origin}/app/getAppAccessToken`,
      api_base: spec.sim.origin,
      intents: ['GROUP_AND_C2C_EVENT'],
    },
    redis: {
      ...(spec.redisCluster ? { cluster: { nodes: [...spec.redisCluster.nodes] } } : { url: spec.redisUrl }),
      prefix: spec.prefix,
      ...(spec.minReplicas !== undefined ? { min_replicas: spec.minReplicas } : {}),
    },
    server: { listen: '127.0.0.1:0' },
    journal: { dir: join(spec.workDir, `${spec.name}-journal`) },
    ...(spec.gateway ? { gateway: spec.gateway } : {}),
    delivery: { shutdown_grace: '5s' },
    ...(spec.outboundRateLimit ? { outbound: { rate_limit: spec.outboundRateLimit } } : {}),
    log: { level: 'info' },
    targets: spec.targetUrls.map((url, index) => ({
      id: `t${index}`,
      url,
      secret: WEBHOOK_SECRET,
      concurrency: spec.concurrency,
      retry: spec.retry,
      allow_private: true, // the receiver is on loopback
    })),
  };
  const path = join(spec.workDir, `${spec.name}.yaml`);
  writeFileSync(path, stringify(config));
  return path;
}

function logTail(path: string): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Resolves once `ready` does; rejects if the process exits first or `READY_TIMEOUT_MS` passes. */
async function whenReady(
  child: ChildProcess,
  ready: Promise<void>,
  what: string,
  logPath: string,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const failed = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} not ready in ${READY_TIMEOUT_MS} ms`)),
      READY_TIMEOUT_MS,
    );
    void exited(child).then((code) => reject(new Error(`${what} exited (${String(code)}) while starting`)));
  });
  try {
    await Promise.race([ready, failed]);
  } catch (err) {
    await stopChild(child, 1_000, 'SIGKILL');
    throw new Error(`${(err as Error).message}; log ${logPath}:\n${logTail(logPath)}`);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Starts `node [nodeArgs] <cli> run --config <generated yaml>` and resolves once its shard holds a session on the
 * simulator. Its delivery workers may still be connecting; callers warm up before measuring.
 */
export async function startBridge(spec: BridgeSpec): Promise<BridgePipe> {
  const configPath = writeBridgeConfig(spec);
  const logPath = join(spec.workDir, `${spec.name}.log`);
  const log = openSync(logPath, 'a');
  const child = spawnTracked(
    process.execPath,
    [...(spec.nodeArgs ?? []), spec.cli, 'run', '--config', configPath, '--role', spec.role ?? 'all'],
    { stdio: ['ignore', log, log], cwd: spec.workDir, env: { ...process.env, ...spec.env } },
  );
  closeSync(log);
  const before = spec.sim.state().connections;
  const session = spec.sim.waitFor(
    (s) => s.connections > before && s.sessions.some((x) => x.connected && !x.discarded),
    READY_TIMEOUT_MS,
  );
  await whenReady(
    child,
    session.then(() => undefined),
    `bridge ${spec.name}`,
    logPath,
  );
  const metricsUrl = metricsUrlFromLog(logPath); // the HTTP server listens before the gateway connects
  return {
    pid: child.pid!,
    ...(metricsUrl ? { metricsUrl } : {}),
    stop: () => stopChild(child, STOP_GRACE_MS),
    kill9: () => stopChild(child, 0, 'SIGKILL'),
  };
}

/** How the naive pipe's process is started, beside what the pipe itself is given. */
export interface NaiveProcessSpec {
  name: string;
  workDir: string;
  /** Extra node flags, before the pipe's own `--eval`. */
  nodeArgs?: readonly string[];
  /** Extra environment variables, beside the bench's own environment. */
  env?: Readonly<Record<string, string>>;
}

/**
 * Starts bench/naive-pipe.ts and resolves once it has a gateway session and a running worker. It runs as plain
 * JavaScript (bench/transpile.ts), without tsx's loader, which would add ~30 MB to the RSS it is compared by.
 */
export async function startNaive(spec: NaiveSpec & NaiveProcessSpec): Promise<Pipe> {
  const logPath = join(spec.workDir, `${spec.name}.log`);
  const { name: _name, workDir: _workDir, nodeArgs = [], env, ...naive } = spec;
  const log = openSync(logPath, 'a');
  const source = plainJavaScript(new URL('./naive-pipe.ts', import.meta.url));
  // --eval resolves its imports from the working directory: the repository root, where node_modules is.
  const child = spawnTracked(
    process.execPath,
    [...nodeArgs, '--input-type=module', '--eval', source, JSON.stringify(naive)],
    { cwd: REPO_ROOT, stdio: ['ignore', log, log, 'ipc'], env: { ...process.env, ...env } },
  );
  closeSync(log);
  const ready = new Promise<void>((resolve) => {
    child.on('message', (message: { type: string }) => {
      if (message.type === 'ready') resolve();
    });
  });
  await whenReady(child, ready, 'naive pipe', logPath);
  return { pid: child.pid!, stop: () => stopChild(child, STOP_GRACE_MS) };
}
