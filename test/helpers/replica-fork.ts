import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ReplicaMessage } from '../gateway/replica-process.js';
import { eventually } from './gateway.js';

/** A gateway replica in a child process (test/gateway/replica-process.ts), so it can be killed like a real one. */
export interface ForkedReplica {
  readonly child: ChildProcess;
  readonly messages: ReplicaMessage[];
  waitFor(check: (messages: ReplicaMessage[]) => boolean, what: string, timeoutMs?: number): Promise<void>;
  /** The shards whose last reported status is READY or RESUMED. */
  healthy(): number[];
  /** Event ids it received, in order. */
  dispatchedIds(): string[];
  /** SIGKILL: no shutdown of any kind. */
  kill(): Promise<void>;
  /** SIGTERM: a graceful stop (sessions persisted, leases released). */
  terminate(): Promise<void>;
}

export interface ForkOptions {
  simulatorOrigin: string;
  prefix: string;
  ttlMs: number;
  replicaId?: string;
  /** Each fork registers its SIGKILL here, so a failing test leaves no process behind. */
  cleanups: (() => Promise<void>)[];
}

export function forkReplica(options: ForkOptions): ForkedReplica {
  const script = fileURLToPath(new URL('../gateway/replica-process.ts', import.meta.url));
  const child = fork(script, [], {
    execArgv: ['--import', 'tsx'],
    env: {
      ...process.env,
      QQWB_SIM_ORIGIN: options.simulatorOrigin,
      QQWB_PREFIX: options.prefix,
      QQWB_LEASE_TTL_MS: String(options.ttlMs),
      ...(options.replicaId ? { QQWB_REPLICA_ID: options.replicaId } : {}),
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const alive = (): boolean => child.exitCode === null && child.signalCode === null;
  const kill = async (): Promise<void> => {
    if (alive()) child.kill('SIGKILL');
    await exited;
  };
  options.cleanups.push(kill);
  const messages: ReplicaMessage[] = [];
  child.on('message', (message) => messages.push(message as ReplicaMessage));
  return {
    child,
    messages,
    waitFor: (check, what, timeoutMs = 15_000) => eventually(() => check(messages), what, timeoutMs),
    healthy() {
      const last = new Map<number, string>();
      for (const m of messages) if (m.kind === 'status') last.set(m.shardId, m.status);
      return [...last].filter(([, status]) => status === 'ready' || status === 'resumed').map(([id]) => id);
    },
    dispatchedIds: () => messages.flatMap((m) => (m.kind === 'dispatch' && m.id ? [m.id] : [])),
    kill,
    async terminate() {
      if (alive()) child.kill('SIGTERM');
      await exited;
    },
  };
}
