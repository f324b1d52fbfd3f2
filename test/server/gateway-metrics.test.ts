import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { silentLogger } from '../../src/log.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { testConfig } from '../helpers/config.js';
import { eventually } from '../helpers/gateway.js';
import { deletePrefix, freshPrefix } from '../helpers/redis.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** One sample of a scrape: `name{a="x",b="y"} value`, with the labels as a map. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseSamples(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[key!] = value!;
    }
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** A real bridge (gateway and workers, real Redis) whose HTTP server listens on a loopback port 0. */
async function bridge(
  sim: Simulator,
  rotateEveryMs = 0,
): Promise<{ app: App; scrape: () => Promise<Sample[]> }> {
  const prefix = freshPrefix('gwmetrics');
  cleanups.push(() => deletePrefix(prefix));
  const config = testConfig({ simulatorOrigin: sim.origin, prefix });
  const app = createApp({
    config: { ...config, gateway: { ...config.gateway, rotateEveryMs } },
    role: 'all',
    logger: silentLogger(),
    // A config-error close (4014) then keeps the shard waiting for the rest of the test.
    sessionOverrides: { reconnectScheduleMs: [20, 50], configErrorDelayMs: 60_000 },
  });
  cleanups.push(() => app.stop());
  await app.start();
  const { host, port } = app.httpAddress()!;
  return {
    app,
    async scrape() {
      const response = await request(`http://${host}:${port}/metrics`);
      expect(response.statusCode).toBe(200);
      return parseSamples(await response.body.text());
    },
  };
}

/** The value of the one sample of `name` with exactly these labels; undefined when there is none. */
function valueOf(samples: Sample[], name: string, labels: Record<string, string>): number | undefined {
  const found = samples.filter(
    (sample) =>
      sample.name === name &&
      Object.keys(sample.labels).length === Object.keys(labels).length &&
      Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
  );
  return found.length === 1 ? found[0]!.value : undefined;
}

const healthy = (app: App): boolean => app.shards().some((s) => ['ready', 'resumed'].includes(s.status));

describe('gateway metrics on GET /metrics, driven by real simulator faults', () => {
  it('counts reconnects by reason, rejected frames and shard readiness', async () => {
    const sim = await startSimulator({ heartbeatIntervalMs: 1_000 });
    cleanups.push(() => sim.close());
    const { app, scrape } = await bridge(sim);
    await eventually(() => healthy(app), 'shard READY');
    let samples = await scrape();
    expect(valueOf(samples, 'qqwb_shard_ready', { shard: '0' })).toBe(1);
    expect(samples.filter((s) => s.name === 'qqwb_gateway_reconnects_total')).toEqual([]);
    expect(samples.filter((s) => s.name === 'qqwb_gateway_frames_rejected_total')).toEqual([]);

    // op 7, then the 4009 that follows it: one reconnect, for op 7; the session is resumed
    sim.fault('reconnect');
    await eventually(() => sim.state().resumes === 1 && healthy(app), 'RESUMED after op 7');
    // a text frame that is not JSON: dropped and counted, the session carries on
    sim.fault('malformed_frame');
    // a plain close 4009: one reconnect for the close
    sim.fault('close', { code: 4009 });
    await eventually(() => sim.state().resumes === 2 && healthy(app), 'RESUMED after close 4009');
    samples = await scrape();
    expect(valueOf(samples, 'qqwb_gateway_reconnects_total', { shard: '0', reason: 'op7' })).toBe(1);
    expect(valueOf(samples, 'qqwb_gateway_reconnects_total', { shard: '0', reason: 'close' })).toBe(1);
    expect(samples.filter((s) => s.name === 'qqwb_gateway_reconnects_total')).toHaveLength(2);
    expect(valueOf(samples, 'qqwb_gateway_frames_rejected_total', { reason: 'not_json' })).toBe(1);
    expect(valueOf(samples, 'qqwb_shard_ready', { shard: '0' })).toBe(1);

    // 4014 (intents not permitted): the shard waits out the slow config-error retry, and reads 0 meanwhile
    sim.fault('close', { code: 4014 });
    await eventually(() => app.shards()[0]?.status === 'waiting', 'shard waiting after 4014');
    samples = await scrape();
    expect(valueOf(samples, 'qqwb_shard_ready', { shard: '0' })).toBe(0);
    expect(valueOf(samples, 'qqwb_gateway_reconnects_total', { shard: '0', reason: 'close' })).toBe(2);
    expect(sim.state()).toMatchObject({ identifies: 1, resumes: 2 });
  });

  it('adds dark seconds by reason once the shard is healthy again, and reports the session age', async () => {
    const sim = await startSimulator({ heartbeatIntervalMs: 1_000 });
    cleanups.push(() => sim.close());
    const { app, scrape } = await bridge(sim);
    await eventually(() => healthy(app), 'shard READY');
    let samples = await scrape();
    const dark = (reason: string): number | undefined =>
      valueOf(samples, 'qqwb_gateway_dark_seconds_total', { shard: '0', reason });
    // from the start to the first READY
    expect(dark('start')).toBeGreaterThan(0);
    expect(dark('network')).toBeUndefined();
    const age = valueOf(samples, 'qqwb_gateway_session_age_seconds', { shard: '0' });
    expect(age).toBeGreaterThanOrEqual(0);

    sim.fault('cut');
    await eventually(() => sim.state().resumes === 1 && healthy(app), 'RESUMED after the cut');
    samples = await scrape();
    expect(dark('network')).toBeGreaterThan(0);
    expect(samples.filter((s) => s.name === 'qqwb_gateway_dark_seconds_total')).toHaveLength(2);
    // a resume keeps the session, so its age only grew
    expect(valueOf(samples, 'qqwb_gateway_session_age_seconds', { shard: '0' })).toBeGreaterThanOrEqual(age!);
  });

  it('counts a session rotation (gateway.rotate_every) and no reconnect for it; the shard stays ready', async () => {
    const sim = await startSimulator({ heartbeatIntervalMs: 1_000 });
    cleanups.push(() => sim.close());
    const { app, scrape } = await bridge(sim, 700);
    await eventually(() => healthy(app), 'shard READY');
    await sim.waitFor((state) => state.identifies === 2, 10_000);
    await eventually(
      () => app.shards()[0]?.sessionId === sim.state().sessions.find((x) => x.connected)?.session_id,
      'successor current',
    );
    const samples = await scrape();
    expect(
      valueOf(samples, 'qqwb_gateway_rotations_total', { shard: '0', reason: 'age', result: 'rotated' }),
    ).toBe(1);
    expect(samples.filter((s) => s.name === 'qqwb_gateway_reconnects_total')).toEqual([]);
    // a rotation is no dark time: only the start to the first READY was counted
    expect(
      samples.filter((s) => s.name === 'qqwb_gateway_dark_seconds_total').map((s) => s.labels.reason),
    ).toEqual(['start']);
    expect(valueOf(samples, 'qqwb_shard_ready', { shard: '0' })).toBe(1);
  });
});
