/**
 * `npm run bench [-- --quick] [-- --soak] [-- --profile]`: measures the whole pipe on loopback against two
 * baselines on the same receiver and Redis (see bench/README.md). Runs under tsx; the bridge itself runs as the
 * built `node dist/cli.js`. Prints tables, writes bench/results/<date>.json, and ends with one summary line.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { connectSingleRedis } from '../src/redis/connections.js';
import { killAll } from './children.js';
import { clusterPhase } from './cluster.js';
import { darkTimePhase } from './dark-time.js';
import { REPO_ROOT, USAGE, parseOptions, planFor, type BenchOptions } from './options.js';
import {
  directPhase,
  fanoutPhase,
  fanoutRow,
  ingestPhase,
  pipePhase,
  profilePhase,
  repliesPhase,
  soakPhase,
  type BenchContext,
  type FanoutRow,
} from './phases.js';
import { ReceiverProcess } from './receiver-client.js';
import { deletePrefix, runPrefix } from './redis.js';
import { buildResult, formatTables, writeResult, type Environment } from './report.js';
import { round } from './stats.js';

function git(args: string[]): string {
  try {
    return execFileSync('git', ['-C', REPO_ROOT, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return '';
  }
}

function environment(options: BenchOptions): Environment {
  return {
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    totalMemMB: Math.round(totalmem() / 1024 / 1024),
    loadAvgStart: loadavg().map((l) => round(l, 2)),
    loadAvgEnd: [],
    commit: git(['rev-parse', '--short', 'HEAD']),
    dirty: git(['status', '--porcelain', '--untracked-files=no']) !== '',
    cli: options.cli,
  };
}

/** A newer src/ than the CLI means the bench would measure stale code: worth a warning, not a refusal. */
function warnIfStale(cli: string): void {
  const built = statSync(cli).mtimeMs;
  const newer = git(['ls-files', 'src'])
    .split('\n')
    .filter(
      (file) =>
        file !== '' && (statSync(join(REPO_ROOT, file), { throwIfNoEntry: false })?.mtimeMs ?? 0) > built,
    );
  if (newer.length > 0) {
    console.warn(
      `! ${cli} is older than ${newer.length} file(s) in src/ (e.g. ${newer[0]}); run npm run build`,
    );
  }
}

async function main(): Promise<number> {
  const parsed = parseOptions(process.argv.slice(2));
  if (parsed === 'help') {
    console.log(USAGE);
    return 0;
  }
  const options = parsed;
  const plan = planFor(options);
  const started = new Date();
  const stamp = started
    .toISOString()
    .replace(/:/g, '-')
    .replace(/\.\d+Z$/, 'Z');
  const name = options.quick ? `${stamp}-quick` : stamp;
  warnIfStale(options.cli);
  mkdirSync(options.resultsDir, { recursive: true });

  // The bench's own connection fails fast: a Redis that goes away mid-run ends the run, it is not waited for.
  const redis = connectSingleRedis(options.redisUrl, 'command', { retryStrategy: () => null });
  let redisError = '';
  redis.on('error', (err: Error) => (redisError = err.message)); // the command that met it is rejected too
  await redis.connect().catch((err: unknown) => {
    redis.disconnect();
    throw new Error(`no Redis at ${options.redisUrl}: ${redisError || String(err)}`);
  });
  const prefix = runPrefix();
  const workDir = mkdtempSync(join(tmpdir(), 'qqwb-bench-'));
  const env = environment(options);
  console.log(
    `bench ${options.quick ? '--quick' : 'full'}: ${env.cpus} CPUs, load ${env.loadAvgStart.join(' ')}, ` +
      `bridge ${options.cli}, prefix ${prefix}, work dir ${workDir}`,
  );

  let cleaned: Promise<void> | undefined;
  /** Idempotent. The work dir (configs, bridge logs) is kept with --keep, and after a failure. */
  const cleanUp = (receiver: ReceiverProcess | undefined, keepWorkDir = options.keep): Promise<void> =>
    (cleaned ??= (async () => {
      await receiver?.stop().catch(() => undefined);
      killAll();
      const deleted = await deletePrefix(redis, prefix).catch(() => -1);
      console.log(
        `  · cleanup: ${deleted >= 0 ? `${deleted} Redis keys under ${prefix} deleted` : 'Redis cleanup FAILED'}`,
      );
      redis.disconnect();
      if (!keepWorkDir) rmSync(workDir, { recursive: true, force: true });
    })());
  let receiver: ReceiverProcess | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    console.error(`\n${signal}: stopping every child process and cleaning up`);
    void cleanUp(receiver).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    receiver = await ReceiverProcess.start();
    const ctx: BenchContext = {
      options,
      plan,
      workDir,
      redis,
      prefix,
      receiver,
      profileOut: join(options.resultsDir, `${name}.cpuprofile`),
    };
    const direct = await directPhase(ctx);
    const naive = await pipePhase(ctx, 'naive');
    const e2e = await pipePhase(ctx, 'e2e');
    const ingest = await ingestPhase(ctx);
    const darkTime = await darkTimePhase(ctx);
    const replies = await repliesPhase(ctx);
    const cluster = await clusterPhase(ctx);
    const fanout: FanoutRow[] = [];
    for (const targets of plan.fanoutTargets) {
      fanout.push(
        targets === 1
          ? fanoutRow(1, e2e.throughput, e2e.latencyAtShare!, e2e.session.peakRssMB)
          : await fanoutPhase(ctx, targets),
      );
    }
    const profile = options.profile ? await profilePhase(ctx) : undefined;
    const soak = options.soak ? await soakPhase(ctx) : undefined;
    await cleanUp(receiver);
    env.loadAvgEnd = loadavg().map((l) => round(l, 2));
    const result = buildResult({
      version: 1,
      startedAt: started.toISOString(),
      durationSec: round((Date.now() - started.getTime()) / 1000, 1),
      mode: options.quick ? 'quick' : 'full',
      environment: env,
      settings: {
        concurrency: options.concurrency,
        outage: options.outage,
        bridgeNodeArgs: options.bridgeNodeArgs,
        plan,
      },
      direct,
      naive,
      e2e,
      ingest,
      darkTime,
      replies,
      cluster,
      fanout,
      backlog: e2e.backlog!,
      ...(soak ? { soak } : {}),
      ...(profile ? { profile } : {}),
    });
    console.log(formatTables(result));
    const path = writeResult(options.resultsDir, name, result);
    console.log(`\nresults: ${path} (${result.durationSec} s, load ${env.loadAvgEnd.join(' ')})`);
    console.log(result.summary);
    return 0;
  } catch (err) {
    console.error(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    await cleanUp(receiver, true);
    console.error(`configs and bridge logs kept in ${workDir}`);
    return 1;
  }
}

process.exitCode = await main().catch((err: unknown) => {
  console.error(`${err instanceof Error ? err.message : String(err)} (see npm run bench -- --help)`);
  killAll();
  return 2;
});
