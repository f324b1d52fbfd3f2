/**
 * `node --import tsx bench/cluster-alone.ts [--quick] [--cli PATH] [--keep]`: the bench's Redis Cluster phase on
 * its own (npm run build first). Prints its table and writes bench/results/<date>-cluster[-quick].json.
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectSingleRedis } from '../src/redis/connections.js';
import { killAll } from './children.js';
import { clusterPhase } from './cluster.js';
import { clusterSummary, clusterTable } from './cluster-report.js';
import { USAGE, parseOptions, planFor } from './options.js';
import { ReceiverProcess } from './receiver-client.js';
import { deletePrefix, runPrefix } from './redis.js';

async function main(): Promise<number> {
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
    console.log(`redis cluster ${options.quick ? '--quick' : 'full'}: prefix ${prefix}, work dir ${workDir}`);
    const cluster = await clusterPhase({
      options,
      plan,
      workDir,
      redis,
      prefix,
      receiver,
      profileOut: '',
    });
    console.log(clusterTable(cluster));
    console.log(clusterSummary(cluster));
    const stamp = startedAt
      .toISOString()
      .replace(/:/g, '-')
      .replace(/\.\d+Z$/, 'Z');
    mkdirSync(options.resultsDir, { recursive: true });
    const path = join(options.resultsDir, `${stamp}-cluster${options.quick ? '-quick' : ''}.json`);
    const result = {
      version: 1,
      startedAt: startedAt.toISOString(),
      mode: options.quick ? 'quick' : 'full',
      node: process.version,
      loadAvgStart,
      loadAvgEnd: loadavg(),
      cluster,
    };
    writeFileSync(`${path}.tmp`, `${JSON.stringify(result, null, 2)}\n`);
    renameSync(`${path}.tmp`, path);
    console.log(`results: ${path}`);
    return 0;
  } catch (err) {
    failed = true;
    console.error(`redis cluster failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
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

const code = await main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  killAll();
  return 2;
});
// A start the bridge refused (a config key this build lacks) leaves startBridge's wait for a session polling the
// closed simulator until its own timeout; nothing is left to do, so that wait need not keep the process alive.
process.exit(code);
