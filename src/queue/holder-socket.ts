/**
 * A Unix socket that a lock holder listens on for as long as it holds the lock. The kernel closes it when the
 * process dies, `kill -9` included, so another process on the same machine — in another container sharing the
 * volume too — learns at once whether the holder lives: a connect succeeds, or is refused.
 */
import { createConnection, createServer, type Server } from 'node:net';

/** Longest socket path that binds everywhere the bridge runs (sun_path is 104 bytes on macOS, 108 on Linux). */
const MAX_SOCKET_PATH_BYTES = 100;
/** A live holder's kernel accepts at once; this only bounds an odd filesystem. */
const PROBE_TIMEOUT_MS = 2000;

export function fitsSocketPath(path: string): boolean {
  return Buffer.byteLength(path) <= MAX_SOCKET_PATH_BYTES;
}

/** Listens at `path`; undefined when it cannot (a filesystem without sockets), and the lock does without. */
export async function listenHolderSocket(path: string): Promise<Server | undefined> {
  const server = createServer((connection) => connection.destroy());
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch {
    server.close();
    return undefined;
  }
  // Never what keeps the process running; an error after listening is no reason to crash.
  server.unref();
  server.on('error', () => undefined);
  return server;
}

export async function closeHolderSocket(server: Server | undefined): Promise<void> {
  if (!server) return;
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/**
 * `listening` when a process accepts on `path`; `gone` when the socket file is there but nobody listens (the
 * holder died) or the file is missing; `unknown` otherwise.
 */
export function probeHolderSocket(path: string): Promise<'listening' | 'gone' | 'unknown'> {
  return new Promise((resolve) => {
    const socket = createConnection({ path });
    const done = (verdict: 'listening' | 'gone' | 'unknown'): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(verdict);
    };
    const timer = setTimeout(() => done('unknown'), PROBE_TIMEOUT_MS);
    socket.once('connect', () => done('listening'));
    socket.once('error', (err: NodeJS.ErrnoException) => {
      done(err.code === 'ECONNREFUSED' || err.code === 'ENOENT' ? 'gone' : 'unknown');
    });
  });
}
