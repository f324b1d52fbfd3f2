/**
 * One bench phase run on its own (npm run build first), as `bench/<phase>-alone.ts [--quick] [--cli PATH] [--keep]`:
 * its table and summary printed, its figures written to bench/results/<date>-<fileTag>[-quick].json.
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectSingleRedis } from '../src/redis/connections.js';
import { killAll } from './children.js';
import { USAGE, parseOptions, planFor } from './options.js';
import type { BenchContext } from './phases.js';
import { ReceiverProcess } from './receiver-client.js';
import { deletePrefix, runPrefix } from './redis.js';

export interface AlonePhase<T> {
  /** Names the phase in progress lines, e.g. `dark time`. */
  label: string;
  /** Names the results file, e.g. `dark-time`. */
  fileTag: string;
  /** The figures' key in the results file, as in a full bench run's. */
  resultKey: string;
  run: (ctx: BenchContext) => Promise<T>;
  table: (figures: T) => string;
  summary: (figures: T) => string;
}

async function runAlone<T>(phase: AlonePhase<T>): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  if (options === 'help') {
    console.log(USAGE);
    return 0;
  }
  const plan = planFor(options);
  const startedAt = new Date();
  const loadAvgStart = loadavg();
  const redis = connectSingleRedis(options.redisUrl, 'command');
  await redis.connect();
  const prefix = runPrefix();
  const workDir = mkdtempSync(join(tmpdir(), 'qqwb-bench-'));
  const receiver = await ReceiverProcess.start();
  let failed = false;
  try {
    console.log(
      `${phase.label} ${options.quick ? '--quick' : 'full'}: prefix ${prefix}, work dir ${workDir}`,
    );
    const figures = await phase.run({
      options,
      plan,
      workDir,
      redis,
      prefix,
      receiver,
      profileOut: '',
    });
    console.log(phase.table(figures));
    console.log(phase.summary(figures));
    const stamp = startedAt
      .toISOString()
      .replace(/:/g, '-')
      .replace(/\.\d+Z$/, 'Z');
    mkdirSync(options.resultsDir, { recursive: true });
    const path = join(options.resultsDir, `${stamp}-${phase.fileTag}${options.quick ? '-quick' : ''}.json`);
    const result = {
      version: 1,
      startedAt: startedAt.toISOString(),
      mode: options.quick ? 'quick' : 'full',
      node: process.version,
      loadAvgStart,
      loadAvgEnd: loadavg(),
      [phase.resultKey]: figures,
    };
    writeFileSync(`${path}.tmp`, `${JSON.stringify(result, null, 2)}\n`);
    renameSync(`${path}.tmp`, path);
    console.log(`results: ${path}`);
    return 0;
  } catch (err) {
    failed = true;
    console.error(
      `${phase.label} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
    );
    console.error(`configs and bridge logs kept in ${workDir}`);
    return 1;
  } finally {
    await receiver.stop().catch(() => undefined);
    killAll();
    await deletePrefix(redis, prefix).catch(() => undefined);
    redis.disconnect();
    if (!failed && !options.keep) rmSync(workDir, { recursive: true, force: true });
  }
}

/** Runs one bench phase on its own, prints its table and summary, writes its results file; exits the process. */
export async function runPhaseAlone<T>(phase: AlonePhase<T>): Promise<never> {
  const code = await runAlone(phase).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    killAll();
    return 2;
  });
  // A start the bridge refused (a config key this build lacks) leaves startBridge's wait for a session polling the
  // closed simulator until its own timeout; nothing is left to do, so that wait need not keep the process alive.
  process.exit(code);
}
