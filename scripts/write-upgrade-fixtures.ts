/**
 * Writes test/fixtures/upgrade/ from a checkout of an earlier release, for test/upgrade/previous-release.test.ts:
 * what a deployment of that release leaves behind when it is upgraded. The earlier release is the last commit
 * before the per-queue hash tags of the Redis key layout (docs/design.md, "Redis key layout"):
 *
 *   sha=$(git log --format=%h --diff-filter=A -- src/redis/keys.ts)~1
 *   git worktree add --detach /tmp/qqwb-prev "$sha"
 *   ln -s "$PWD/node_modules" /tmp/qqwb-prev/node_modules
 *   node --import tsx scripts/write-upgrade-fixtures.ts /tmp/qqwb-prev [redis://127.0.0.1:6379]
 *   git worktree remove --force /tmp/qqwb-prev
 *
 * Everything is produced by that checkout's own code (its config parser, normalizer, ingest pipeline, producer and
 * journal), never by this one's:
 *
 * - previous-release.json: frames its ingest pipeline accepted while Redis was up, enqueued into its target queues
 *   under a fresh prefix; then every key of that prefix as a list to replay (type, TTL, contents, with key names
 *   relative to the prefix), and the envelope ids each target must receive, from its normalizer and filters.
 *   The keys are deleted from Redis afterwards.
 * - journal/: the journal files it wrote for frames accepted while Redis was away (a client that never connects).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { format, resolveConfig } from 'prettier';
import type { DumpedKey, UpgradeFixture } from '../test/upgrade/fixture.js';

const OUT_DIR = resolve(import.meta.dirname, '../test/fixtures/upgrade');
const APP_ID = '102000000';
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
/** Two targets with different filters, so the fixture also checks that each queue kept its own events. */
const TARGETS = [
  { id: 'backend', events: ['*'] },
  { id: 'groups', events: ['group.*'] },
];

interface Frame {
  op: 0;
  t: string;
  s: number;
  id: string;
  d: Record<string, unknown>;
}

function groupAt(s: number, id: string): Frame {
  const d = {
    id: `msg-${id}`,
    content: ` hello ${id}`,
    timestamp: '2026-12-01T18:00:00+08:00',
    group_openid: 'C9F778FE6ADF9D1D1DBE395BF744A33A',
    author: { member_openid: 'E4F4AEA33253A2797FB897C50B81D7ED' },
  };
  return { op: 0, t: 'GROUP_AT_MESSAGE_CREATE', s, id, d };
}

function c2c(s: number, id: string): Frame {
  const d = {
    id: `msg-${id}`,
    content: `hi ${id}`,
    timestamp: '2026-12-01T18:00:01+08:00',
    author: { user_openid: 'A1B2C3D4E5F60718293A4B5C6D7E8F90' },
  };
  return { op: 0, t: 'C2C_MESSAGE_CREATE', s, id, d };
}

function botAdded(s: number, id: string, t = 'GROUP_ADD_ROBOT'): Frame {
  const d = {
    group_openid: 'C9F778FE6ADF9D1D1DBE395BF744A33A',
    op_member_openid: 'E4F4AEA33253A2797FB897C50B81D7ED',
    timestamp: 1764583200 + s,
  };
  return { op: 0, t, s, id, d };
}

/** Enqueued while Redis was up: they end up in the old layout's target queues. */
const QUEUED = [
  groupAt(1, 'upgrade-queued-at'),
  c2c(2, 'upgrade-queued-c2c'),
  botAdded(3, 'upgrade-queued-add'),
];
/** Accepted while Redis was away: they end up in the journal. */
const JOURNALED = [
  groupAt(4, 'upgrade-journaled-at'),
  botAdded(5, 'upgrade-journaled-del', 'GROUP_DEL_ROBOT'),
  c2c(6, 'upgrade-journaled-c2c'),
];

/** The parts of the earlier checkout this script runs, as that checkout exports them. */
interface OldCode {
  parseConfig(text: string, source: string, env: Record<string, string | undefined>): OldConfig;
  startIngestPipeline(options: {
    config: OldConfig;
    redis: Redis;
    journal: OldJournal;
    metrics: unknown;
    logger: unknown;
  }): {
    accept(frames: readonly Frame[], shard: [number, number]): Promise<void>;
    sink: { depth(): number };
    stop(): Promise<void>;
  };
  openJournal(options: { dir: string; maxBytes: number; logger: unknown }): Promise<OldJournal>;
  normalize(
    frame: Frame,
    ctx: { appId: string; shard: [number, number]; receivedAt: Date },
  ): { envelope: { id: string } };
  createTargetFilter(target: { events: string[]; groups: string[] }): (envelope: unknown) => boolean;
  createMetrics(): unknown;
  silentLogger(): unknown;
}

interface OldConfig {
  journal: { dir: string; maxBytes: number };
}

interface OldJournal {
  readonly entries: number;
  close(): Promise<void>;
}

async function loadOldCode(checkout: string): Promise<OldCode> {
  const load = async (path: string): Promise<Record<string, unknown>> =>
    (await import(pathToFileURL(join(checkout, 'src', path)).href)) as Record<string, unknown>;
  const [config, pipeline, journal, normalize, filter, metrics, log] = await Promise.all([
    load('config/index.ts'),
    load('ingest-pipeline.ts'),
    load('queue/journal.ts'),
    load('events/normalize.ts'),
    load('events/filter.ts'),
    load('server/metrics.ts'),
    load('log.ts'),
  ]);
  const journalClass = journal['Journal'] as { open: OldCode['openJournal'] };
  return {
    parseConfig: config['parseConfig'] as OldCode['parseConfig'],
    startIngestPipeline: pipeline['startIngestPipeline'] as OldCode['startIngestPipeline'],
    openJournal: (options) => journalClass.open(options),
    normalize: normalize['normalize'] as OldCode['normalize'],
    createTargetFilter: filter['createTargetFilter'] as OldCode['createTargetFilter'],
    createMetrics: metrics['createMetrics'] as OldCode['createMetrics'],
    silentLogger: log['silentLogger'] as OldCode['silentLogger'],
  };
}

function configYaml(redisUrl: string, prefix: string, journalDir: string): string {
  return [
    `qq: { app_id: "${APP_ID}", client_secret: fixture-secret }`,
    `redis: { url: "${redisUrl}", prefix: "${prefix}" }`,
    `journal: { dir: "${journalDir}" }`,
    'targets:',
    ...TARGETS.flatMap((target) => [
      `  - id: ${target.id}`,
      '    url: http://127.0.0.1:9/hook',
      `    secret: ${SECRET}`,
      `    events: [${target.events.map((glob) => `"${glob}"`).join(', ')}]`,
      '    allow_private: true',
    ]),
  ].join('\n');
}

/** A loopback port nothing listens on: bound once, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  await new Promise<void>((done) => server.close(() => done()));
  if (typeof address !== 'object' || address === null) throw new Error('no port was bound');
  return address.port;
}

/** `buffer` as text, refusing bytes that would not survive the round trip through JSON. */
function text(buffer: Buffer, key: string): string {
  const value = buffer.toString('utf8');
  if (!Buffer.from(value, 'utf8').equals(buffer))
    throw new Error(`key ${key} holds bytes that are not UTF-8`);
  return value;
}

/** One key as a replayable record: its type, its TTL and its contents in the order a replay needs. */
async function dumpKey(redis: Redis, key: string, prefix: string): Promise<DumpedKey> {
  const type = await redis.type(key);
  const pttl = await redis.pttl(key);
  const texts = (buffers: Buffer[]): string[] => buffers.map((buffer) => text(buffer, key));
  const name = key.slice(prefix.length);
  switch (type) {
    case 'string':
      return { name, type, pttl, value: text((await redis.getBuffer(key)) ?? Buffer.alloc(0), key) };
    case 'hash':
      return { name, type, pttl, value: texts(await redis.hgetallBuffer(key).then(flattenHash)) };
    case 'list':
      return { name, type, pttl, value: texts(await redis.lrangeBuffer(key, 0, -1)) };
    case 'set':
      return { name, type, pttl, value: texts(await redis.smembersBuffer(key)).sort() };
    case 'zset':
      return { name, type, pttl, value: texts(await redis.zrangeBuffer(key, 0, -1, 'WITHSCORES')) };
    case 'stream': {
      const entries = (await redis.xrange(key, '-', '+')).map(([id, fields]) => [id, ...fields]);
      return { name, type, pttl, value: entries };
    }
    default:
      throw new Error(`key ${key} has type ${type}, which this script cannot dump`);
  }
}

function flattenHash(hash: Record<string, Buffer>): Buffer[] {
  return Object.entries(hash).flatMap(([field, value]) => [Buffer.from(field, 'utf8'), value]);
}

async function keysOf(redis: Redis, prefix: string): Promise<string[]> {
  const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
  const keys: string[] = [];
  let cursor = '0';
  for (let round = 0; round < 10_000; round += 1) {
    const [next, found] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    keys.push(...found);
    cursor = next;
    if (cursor === '0') return [...new Set(keys)].sort();
  }
  throw new Error(`SCAN of ${pattern} did not finish`);
}

/** (a): the old pipeline with Redis up, then every key of its prefix. */
async function writeQueues(old: OldCode, redisUrl: string, prefix: string): Promise<DumpedKey[]> {
  const journalDir = await mkdtemp(join(tmpdir(), 'qqwb-fixture-'));
  const config = old.parseConfig(configYaml(redisUrl, prefix, journalDir), '<fixture>', {});
  const redis = new Redis(redisUrl);
  const journal = await old.openJournal({ ...config.journal, logger: old.silentLogger() });
  try {
    if (redis.status !== 'ready') await new Promise<void>((ready) => redis.once('ready', () => ready()));
    const pipeline = old.startIngestPipeline({
      config,
      redis,
      journal,
      metrics: old.createMetrics(),
      logger: old.silentLogger(),
    });
    await pipeline.accept(QUEUED, [0, 1]);
    if (pipeline.sink.depth() !== 0) throw new Error('Redis was up, yet the old pipeline journaled events');
    await pipeline.stop();
    const keys = await keysOf(redis, prefix);
    const dumped = await Promise.all(keys.map((key) => dumpKey(redis, key, prefix)));
    const naming = dumped.filter((key) => JSON.stringify(key.value).includes(prefix.slice(1, -1)));
    if (naming.length > 0) {
      throw new Error(`values name the prefix, so a replay under another would differ: ${naming[0]!.name}`);
    }
    await redis.del(...keys);
    return dumped;
  } finally {
    await journal.close();
    redis.disconnect();
    await rm(journalDir, { recursive: true, force: true });
  }
}

/** (b): the old pipeline while Redis is away, then its journal's files. */
async function writeJournal(old: OldCode, prefix: string): Promise<string[]> {
  const journalDir = await mkdtemp(join(tmpdir(), 'qqwb-fixture-'));
  const awayUrl = `redis://127.0.0.1:${await closedPort()}`;
  const config = old.parseConfig(configYaml(awayUrl, prefix, journalDir), '<fixture>', {});
  const away = new Redis(awayUrl, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
  away.on('error', () => undefined);
  const journal = await old.openJournal({ ...config.journal, logger: old.silentLogger() });
  try {
    const pipeline = old.startIngestPipeline({
      config,
      redis: away,
      journal,
      metrics: old.createMetrics(),
      logger: old.silentLogger(),
    });
    for (const frame of JOURNALED) await pipeline.accept([frame], [0, 1]);
    if (journal.entries !== JOURNALED.length) throw new Error(`journal holds ${journal.entries} entries`);
    await pipeline.stop();
    await journal.close();
    const target = join(OUT_DIR, 'journal');
    await rm(target, { recursive: true, force: true });
    await mkdir(target, { recursive: true });
    // the lock (journal.lock.*) is released by close(); what is left is the data and the cursor
    const files = (await readdir(journalDir)).filter((file) => !file.startsWith('journal.lock'));
    for (const file of files) await copyFile(join(journalDir, file), join(target, file));
    return files;
  } finally {
    away.disconnect();
    await rm(journalDir, { recursive: true, force: true });
  }
}

/** Envelope ids per target, as the old normalizer names them and the old filters route them. */
function expectedIds(old: OldCode): Record<string, string[]> {
  const receivedAt = new Date();
  const envelopes = [...QUEUED, ...JOURNALED].map(
    (frame) => old.normalize(frame, { appId: APP_ID, shard: [0, 1], receivedAt }).envelope,
  );
  return Object.fromEntries(
    TARGETS.map((target) => {
      const wants = old.createTargetFilter({ events: target.events, groups: [] });
      return [target.id, envelopes.filter(wants).map((envelope) => envelope.id)];
    }),
  );
}

async function main(): Promise<void> {
  const [checkoutArg, redisUrl = 'redis://127.0.0.1:6379'] = process.argv.slice(2);
  if (!checkoutArg) {
    throw new Error('usage: node --import tsx scripts/write-upgrade-fixtures.ts <old checkout> [redis url]');
  }
  const checkout = resolve(checkoutArg);
  const commit = execFileSync('git', ['-C', checkout, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
  const old = await loadOldCode(checkout);
  const prefix = `{qqwb-upgrade-fixture-${randomBytes(4).toString('hex')}}`;
  await mkdir(OUT_DIR, { recursive: true });
  const keys = await writeQueues(old, redisUrl, prefix);
  const journalFiles = await writeJournal(old, prefix);
  const fixture: UpgradeFixture = {
    writtenBy: commit,
    appId: APP_ID,
    secret: SECRET,
    targets: TARGETS,
    queued: QUEUED.map((frame) => frame.id),
    journaled: JOURNALED.map((frame) => frame.id),
    expected: expectedIds(old),
    prefix,
    keys,
  };
  const file = join(OUT_DIR, 'previous-release.json');
  // formatted as the repository's own check expects
  const options = { ...(await resolveConfig(file)), parser: 'json' };
  await writeFile(file, await format(JSON.stringify(fixture), options));
  process.stdout.write(
    `wrote ${keys.length} keys and journal files ${journalFiles.join(', ')} from ${commit} to ${OUT_DIR}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(
    `could not write the upgrade fixtures: ${err instanceof Error ? err.stack : String(err)}\n`,
  );
  process.exitCode = 1;
});
