/**
 * The shape of test/fixtures/upgrade/previous-release.json (written by scripts/write-upgrade-fixtures.ts from an
 * earlier release's code) and its replay into Redis under another prefix.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RedisClient } from '../../src/redis/client.js';

/** One Redis key as the earlier release left it; `name` is the key without the prefix it was written under. */
export type DumpedKey =
  | { name: string; type: 'string'; pttl: number; value: string }
  /** hash: field, value, field, value…; list: items in order; set: members; zset: member, score, member… */
  | { name: string; type: 'hash' | 'list' | 'set' | 'zset'; pttl: number; value: string[] }
  /** one [entry id, field, value, field, value…] per entry */
  | { name: string; type: 'stream'; pttl: number; value: string[][] };

export interface UpgradeFixture {
  /** The commit whose code wrote the fixture. */
  writtenBy: string;
  appId: string;
  /** The targets' signing secret. */
  secret: string;
  targets: { id: string; events: string[] }[];
  /** QQ frame ids enqueued in Redis, and accepted into the journal while Redis was away. */
  queued: string[];
  journaled: string[];
  /** Envelope ids each target must receive, from the earlier release's normalizer and filters. */
  expected: Record<string, string[]>;
  /** The prefix the keys were written under. */
  prefix: string;
  keys: DumpedKey[];
}

export const FIXTURE_DIR = join(import.meta.dirname, '../fixtures/upgrade');
export const FIXTURE_JOURNAL_DIR = join(FIXTURE_DIR, 'journal');

export function readUpgradeFixture(): UpgradeFixture {
  return JSON.parse(readFileSync(join(FIXTURE_DIR, 'previous-release.json'), 'utf8')) as UpgradeFixture;
}

/** Writes every dumped key under `prefix` with its contents and TTL; refuses to overwrite an existing key. */
export async function restoreKeys(
  redis: RedisClient,
  prefix: string,
  keys: readonly DumpedKey[],
): Promise<void> {
  for (const dumped of keys) {
    const key = `${prefix}${dumped.name}`;
    if ((await redis.exists(key)) !== 0)
      throw new Error(`${key} already exists; restore under a fresh prefix`);
    await writeKey(redis, key, dumped);
    if (dumped.pttl > 0) await redis.pexpire(key, dumped.pttl);
  }
}

async function writeKey(redis: RedisClient, key: string, dumped: DumpedKey): Promise<void> {
  switch (dumped.type) {
    case 'string':
      await redis.set(key, dumped.value);
      return;
    case 'hash':
      await redis.hset(key, ...dumped.value);
      return;
    case 'list':
      await redis.rpush(key, ...dumped.value);
      return;
    case 'set':
      await redis.sadd(key, ...dumped.value);
      return;
    case 'zset': {
      const scoreFirst = pairs(dumped.value).flatMap(([member, score]) => [score, member]);
      await redis.zadd(key, ...scoreFirst);
      return;
    }
    case 'stream':
      for (const [id, ...fields] of dumped.value) await redis.xadd(key, id!, ...fields);
      return;
  }
}

function pairs(values: readonly string[]): [string, string][] {
  const result: [string, string][] = [];
  for (let i = 0; i + 1 < values.length; i += 2) result.push([values[i]!, values[i + 1]!]);
  return result;
}
