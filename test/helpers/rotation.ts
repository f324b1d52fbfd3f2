import { createServer, connect, type Socket } from 'node:net';
import { WebSocketServer } from 'ws';
import { pino } from 'pino';
import type { Logger } from '../../src/log.js';
import type { RotationReason, RotationResult } from '../../src/gateway/rotation.js';
import type { ReconnectReason, ShardStatus } from '../../src/gateway/session.js';
import {
  RedisSessionStore,
  type PersistedSession,
  type SessionStore,
} from '../../src/gateway/session-store.js';
import { ShardManager, type ShardManagerOptions } from '../../src/gateway/shard-manager.js';
import { AccessTokenManager } from '../../src/qq/access-token.js';
import { QqOpenApi, type GatewayBotInfo } from '../../src/qq/openapi.js';
import type { Simulator } from '../../src/simulator/index.js';
import { testConfig } from './config.js';
import { redisConnection } from './redis.js';

/** One log line as pino wrote it. */
export type LogLine = Record<string, unknown> & { level: number; msg: string };

/** A debug-level logger whose lines land in `lines`. */
export function recordingLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino(
    { level: 'debug' },
    { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) },
  );
  return { logger, lines };
}

/**
 * The shard's session state in real Redis, recording each write in the order it landed. Saves of `slowSessionId`
 * take `slowMs` longer, so a write of the old session is still in flight when its successor takes over.
 */
export class RecordingStore implements SessionStore {
  readonly landed: string[] = [];
  slowSessionId: string | undefined;
  slowMs = 0;
  constructor(private readonly inner: SessionStore) {}

  load(shardId: number): Promise<PersistedSession | undefined> {
    return this.inner.load(shardId);
  }

  async save(shardId: number, session: PersistedSession): Promise<void> {
    if (session.sessionId === this.slowSessionId) await new Promise((r) => setTimeout(r, this.slowMs));
    await this.inner.save(shardId, session);
    this.landed.push(session.sessionId);
  }

  async clear(shardId: number): Promise<void> {
    await this.inner.clear(shardId);
    this.landed.push('clear');
  }
}

/** The real QqOpenApi with what a test changes: the session-start limit it reports, a URL for one connection. */
export class TestApi {
  /** Replaces `session_start_limit` in GET /gateway/bot answers while set. */
  startLimit: GatewayBotInfo['sessionStartLimit'] | undefined;
  /** Answered once by the next GET /gateway instead of QQ's URL. */
  nextGatewayUrl: string | undefined;
  constructor(private readonly real: QqOpenApi) {}

  async gatewayBot(): Promise<GatewayBotInfo> {
    const info = await this.real.gatewayBot();
    return this.startLimit ? { ...info, sessionStartLimit: this.startLimit } : info;
  }

  async gateway(): Promise<string> {
    const url = await this.real.gateway();
    const next = this.nextGatewayUrl;
    this.nextGatewayUrl = undefined;
    return next ?? url;
  }
}

export interface RotationHarness {
  manager: ShardManager;
  api: TestApi;
  store: RecordingStore;
  statuses: ShardStatus[];
  reconnects: ReconnectReason[];
  rotations: [RotationReason, RotationResult][];
  /** Frame ids handed to onDispatch, in arrival order (duplicates kept). */
  dispatchedIds: string[];
  lines: LogLine[];
  persisted(): Promise<PersistedSession | undefined>;
  stop(): Promise<void>;
}

/** A plain-store ShardManager (one shard) against the simulator, rotating every `rotateEveryMs`. */
export async function rotatingManager(
  sim: Simulator,
  prefix: string,
  options: { rotateEveryMs: number; handshakeTimeoutMs?: number; retryDelaysMs?: number[] },
): Promise<RotationHarness> {
  const config = testConfig({ simulatorOrigin: sim.origin, prefix });
  const { logger, lines } = recordingLogger();
  const redis = redisConnection();
  const tokens = new AccessTokenManager({
    tokenUrl: config.qq.tokenUrl,
    appId: config.qq.appId,
    clientSecret: config.qq.clientSecret,
    logger,
  });
  const api = new TestApi(new QqOpenApi({ apiBase: config.qq.apiBase, appId: config.qq.appId, tokens }));
  const store = new RecordingStore(new RedisSessionStore(redis, prefix, config.qq.appId));
  const harness = {
    statuses: [] as ShardStatus[],
    reconnects: [] as ReconnectReason[],
    rotations: [] as [RotationReason, RotationResult][],
    dispatchedIds: [] as string[],
  };
  const manager = new ShardManager({
    qq: config.qq,
    api: api as unknown as ShardManagerOptions['api'],
    tokens,
    logger,
    maxFrameBytes: config.gateway.maxFrameBytes,
    store,
    rotateEveryMs: options.rotateEveryMs,
    sessionOverrides: {
      reconnectScheduleMs: [20, 50],
      invalidSessionDelayMs: [10, 20],
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? 5_000,
      shardStartIntervalMs: 0,
      rotationRetryDelaysMs: options.retryDelaysMs ?? [200],
    },
    hooks: () => ({
      onStatus: (status) => harness.statuses.push(status),
      onReconnect: (reason) => harness.reconnects.push(reason),
      onRotation: (reason, result) => harness.rotations.push([reason, result]),
    }),
    onDispatch: (frames) => {
      for (const frame of frames) harness.dispatchedIds.push(frame.id ?? '');
      return Promise.resolve();
    },
  });
  await manager.start();
  return {
    ...harness,
    manager,
    api,
    store,
    lines,
    persisted: () => new RedisSessionStore(redis, prefix, config.qq.appId).load(0),
    async stop() {
      tokens.stop();
      await manager.stop();
      redis.disconnect();
    },
  };
}

/** A loopback WebSocket server that accepts and never says Hello: a gateway that never gets a session READY. */
export async function silentGateway(): Promise<{ url: string; close(): Promise<void> }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const { port } = wss.address() as { port: number };
  return {
    url: `ws://127.0.0.1:${port}/websocket`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  };
}

/**
 * A loopback TCP proxy to `targetUrl`'s host that passes what the server sends `delayMs` late (and what the client
 * sends at once). Through it a successor's READY arrives well after the simulator, handling its IDENTIFY, dropped the
 * old session's socket: the window in which the old session would reconnect.
 */
export async function delayingProxy(
  targetUrl: string,
  delayMs: number,
): Promise<{ url: string; close(): Promise<void> }> {
  const target = new URL(targetUrl);
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
    }
    client.on('data', (data) => upstream.write(data));
    upstream.on('data', (data) => setTimeout(() => client.write(data), delayMs));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => setTimeout(() => client.destroy(), delayMs));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  return {
    url: `ws://127.0.0.1:${port}${target.pathname}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
