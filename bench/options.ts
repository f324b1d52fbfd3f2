import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { OutageMode } from './receiver-protocol.js';

/** The repository root (bench/..). */
export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

export const USAGE = `usage: npm run bench -- [--quick] [--soak] [--profile] [options]

  --quick             reduced run, about a minute (smaller backlog, shorter phases, 3 dark-time samples)
  --soak              add a 2-minute soak at a fixed rate: bridge RSS before/after and its trend
  --soak-seconds N    the soak's length (default 120)
  --profile           add a throughput run of the bridge under node --cpu-prof and summarize the hot spots
  --cli PATH          the bridge CLI to run (default dist/cli.js; npm run bench builds it first)
  --concurrency N     deliveries in flight: bridge target concurrency, naive worker, direct loop (default 8)
  --bridge-node-args=ARGS  extra node flags for every bridge process, e.g. --bridge-node-args=--max-semi-space-size=4
  --outage MODE       how the target is down in the backlog phase: 503 (default) or refuse (port closed)
  --keep              keep the work directory (configs, bridge logs) instead of deleting it
  --help              this text

Needs Redis at $REDIS_URL (default redis://127.0.0.1:6379). Results: bench/results/<date>.json.`;

export interface BenchOptions {
  quick: boolean;
  soak: boolean;
  soakMs: number;
  profile: boolean;
  cli: string;
  concurrency: number;
  /** Extra node flags for every bridge process (tuning experiments). */
  bridgeNodeArgs: string[];
  outage: OutageMode;
  keep: boolean;
  redisUrl: string;
  resultsDir: string;
}

/** Durations and sizes of one run; `--quick` scales them down. */
export interface Plan {
  /** Closed-loop load before any measurement (connections, JIT), untracked. */
  warmupMs: number;
  /**
   * Outstanding deliveries the closed-loop phases allow (divided by the fan-out for events), at least
   * 4 × concurrency per target so that no worker waits on the window.
   */
  windowDeliveries: number;
  rampMs: number;
  directMs: number;
  throughputMs: number;
  latencyMs: number;
  latencyRates: readonly number[];
  /** Rate of the naive pipe's latency run (the one the e2e p99 target is stated at). */
  naiveLatencyRate: number;
  fanoutTargets: readonly number[];
  fanoutThroughputMs: number;
  fanoutLatencyMs: number;
  /** Offered load of the fan-out latency runs, as a share of that fan-out's measured max. */
  fanoutLoadShare: number;
  backlogDeliveries: number;
  /** The replies phase's closed loop: events sent at most, and its time limit. */
  replyEvents: number;
  replyThroughputMs: number;
  /** The replies phase's open loop: the offered rate and how long. */
  replyLatencyRate: number;
  replyLatencyMs: number;
  soakMs: number;
  soakRate: number;
  /** Measurements of gateway dark time per fault kind; the median is reported. */
  darkTimeRepeats: number;
  drainTimeoutMs: number;
  backlogTimeoutMs: number;
}

export function planFor(options: BenchOptions): Plan {
  const quick = options.quick;
  return {
    warmupMs: quick ? 1_000 : 5_000,
    windowDeliveries: 500,
    rampMs: quick ? 500 : 2_000,
    directMs: quick ? 2_000 : 10_000,
    throughputMs: quick ? 3_000 : 15_000,
    latencyMs: quick ? 2_000 : 20_000,
    latencyRates: [200, 1_000],
    naiveLatencyRate: 1_000,
    fanoutTargets: [1, 10, 50],
    fanoutThroughputMs: quick ? 2_000 : 10_000,
    fanoutLatencyMs: quick ? 1_500 : 10_000,
    fanoutLoadShare: 0.5,
    backlogDeliveries: quick ? 2_000 : 50_000,
    replyEvents: quick ? 3_000 : 20_000,
    replyThroughputMs: quick ? 5_000 : 30_000,
    replyLatencyRate: 200,
    replyLatencyMs: quick ? 5_000 : 20_000,
    soakMs: options.soakMs,
    soakRate: 500,
    darkTimeRepeats: quick ? 3 : 5,
    drainTimeoutMs: 60_000,
    backlogTimeoutMs: quick ? 60_000 : 240_000,
  };
}

/** Parses argv; throws with the usage text on anything it does not know. */
export function parseOptions(argv: readonly string[]): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      soak: { type: 'boolean', default: false },
      'soak-seconds': { type: 'string', default: '120' },
      profile: { type: 'boolean', default: false },
      cli: { type: 'string', default: join(REPO_ROOT, 'dist', 'cli.js') },
      concurrency: { type: 'string', default: '8' },
      'bridge-node-args': { type: 'string', default: '' },
      outage: { type: 'string', default: '503' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return 'help';
  const concurrency = Number(values.concurrency);
  const soakSeconds = Number(values['soak-seconds']);
  if (!(soakSeconds > 0)) throw new Error('--soak-seconds must be a positive number');
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new Error(`--concurrency must be a positive integer`);
  if (values.outage !== '503' && values.outage !== 'refuse')
    throw new Error('--outage must be 503 or refuse');
  if (!existsSync(values.cli)) throw new Error(`no bridge CLI at ${values.cli}: run npm run build first`);
  return {
    quick: values.quick,
    soak: values.soak,
    soakMs: soakSeconds * 1000,
    profile: values.profile,
    cli: values.cli,
    concurrency,
    bridgeNodeArgs: values['bridge-node-args'].split(/\s+/).filter((arg) => arg !== ''),
    outage: values.outage,
    keep: values.keep,
    redisUrl: process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379',
    resultsDir: join(REPO_ROOT, 'bench', 'results'),
  };
}
