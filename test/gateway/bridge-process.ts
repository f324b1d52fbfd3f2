/**
 * A whole bridge (createApp, role all) in its own process, so a test can kill -9 it: forked with an IPC channel,
 * it says `ready` once every shard is READY or RESUMED. The seq save interval is the test's (QQWB_SAVE_INTERVAL_MS),
 * so a kill can land while a save is still held back. Environment: QQWB_SIM_ORIGIN, QQWB_PREFIX, QQWB_RECEIVER_URL,
 * QQWB_REPLICA_ID, QQWB_JOURNAL_DIR, QQWB_SAVE_INTERVAL_MS.
 */
import { createApp } from '../../src/app.js';
import { silentLogger } from '../../src/log.js';
import { testConfig, testTarget } from '../helpers/config.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`bridge-process needs ${name} in its environment`);
  return value;
};

const config = testConfig({
  simulatorOrigin: env('QQWB_SIM_ORIGIN'),
  prefix: env('QQWB_PREFIX'),
  replicaId: env('QQWB_REPLICA_ID'),
  // one delivery at a time: the receiver then sees the jobs in the order they were enqueued
  targets: [testTarget({ id: 'backend', url: env('QQWB_RECEIVER_URL'), concurrency: 1 })],
});
const app = createApp({
  config: { ...config, journal: { ...config.journal, dir: env('QQWB_JOURNAL_DIR') } },
  role: 'all',
  logger: silentLogger(),
  withoutHttp: true,
  sessionOverrides: {
    reconnectScheduleMs: [20, 50],
    invalidSessionDelayMs: [10, 20],
    saveIntervalMs: Number(env('QQWB_SAVE_INTERVAL_MS')),
  },
});
await app.start();
const healthy = (): boolean => app.shards().every((s) => s.status === 'ready' || s.status === 'resumed');
const deadline = Date.now() + 20_000;
while (!healthy()) {
  if (Date.now() > deadline) throw new Error('bridge-process: the shard did not become ready within 20 s');
  await new Promise((resolve) => setTimeout(resolve, 10));
}
process.send?.({ kind: 'ready', status: app.shards()[0]?.status });
