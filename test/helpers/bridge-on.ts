/**
 * The whole bridge (createApp, role all) on a given Redis topology, against the simulator and a loopback receiver:
 * one event emitted must arrive at the receiver, signed, through whatever `redis` is.
 */
import { Writable } from 'node:stream';
import { createApp, type App } from '../../src/app.js';
import type { RedisConnectionConfig } from '../../src/config/types.js';
import { createLogger } from '../../src/log.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { testConfig, testTarget } from './config.js';
import { eventually } from './gateway.js';
import { startReceiver, type Receiver } from './receiver.js';
import { freshPrefix } from './redis.js';

export interface BridgeOnRedis {
  readonly app: App;
  readonly sim: Simulator;
  readonly receiver: Receiver;
  readonly prefix: string;
  /** Every log line the app wrote, as written (after the logger's scrubbing). */
  logText(): string;
  stop(): Promise<void>;
}

/** Starts simulator, receiver and the bridge on `redis`; waits until the shard is ready. */
export async function startBridgeOn(redis: RedisConnectionConfig): Promise<BridgeOnRedis> {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  const sim = await startSimulator({ heartbeatIntervalMs: 1_000 });
  const receiver = await startReceiver();
  const prefix = freshPrefix('topology');
  const app = createApp({
    config: testConfig({
      simulatorOrigin: sim.origin,
      prefix,
      redis,
      targets: [testTarget({ id: 'backend', url: receiver.url, events: ['group.*'] })],
    }),
    withoutHttp: true,
    role: 'all',
    logger: createLogger({ level: 'debug', pretty: false, destination }),
    sessionOverrides: { reconnectScheduleMs: [20, 50], invalidSessionDelayMs: [10, 20] },
  });
  const stop = async (): Promise<void> => {
    await app.stop();
    await receiver.close();
    await sim.close();
  };
  try {
    await app.start();
    await eventually(() => app.shards().every((s) => s.status === 'ready'), 'shard ready', 20_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { app, sim, receiver, prefix, logText: () => lines.join(''), stop };
}
