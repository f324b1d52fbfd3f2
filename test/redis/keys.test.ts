import { describe, expect, it } from 'vitest';
import {
  escapeKeyPart,
  gatewayReadyKey,
  idempotencyKey,
  keyPatterns,
  leaseFenceKey,
  leaseKey,
  msgSeqKey,
  outboundQueuePrefix,
  parseKeyBase,
  replicasKey,
  sessionKey,
  targetQueuePrefix,
  targetSweepLockKey,
} from '../../src/redis/keys.js';

/** The hash tag Redis Cluster places `key` by: from the first `{` to the next `}`, when not empty. */
function hashTag(key: string): string {
  const open = key.indexOf('{');
  const close = key.indexOf('}', open + 1);
  return open >= 0 && close > open + 1 ? key.slice(open + 1, close) : key;
}

describe('redis key layout', () => {
  it('gives each target queue, the outbound queue and each shard a hash tag of its own', () => {
    expect(targetQueuePrefix('{qqwb}', 't1')).toBe('{qqwb:t:t1}');
    expect(outboundQueuePrefix('{qqwb}', '102000001')).toBe('{qqwb:o:102000001}');
    expect(leaseKey('{qqwb}', '102000001', 3)).toBe('{qqwb:shard:102000001:3}:lease');
    const tags = new Set(
      [
        targetQueuePrefix('{qqwb}', 't1'),
        targetQueuePrefix('{qqwb}', 't2'),
        outboundQueuePrefix('{qqwb}', 'app'),
        leaseKey('{qqwb}', 'app', 0),
        leaseKey('{qqwb}', 'app', 1),
        replicasKey('{qqwb}', 'app'),
      ].map(hashTag),
    );
    expect(tags.size).toBe(6);
  });

  it('keeps the keys used together in one tag: a shard, a queue with its companions, the bot', () => {
    expect(hashTag(leaseFenceKey('{qqwb}', 'app', 2))).toBe(hashTag(leaseKey('{qqwb}', 'app', 2)));
    expect(hashTag(sessionKey('{qqwb}', 'app', 2))).toBe(hashTag(leaseKey('{qqwb}', 'app', 2)));
    const outbound = hashTag(outboundQueuePrefix('{qqwb}', 'app'));
    expect(hashTag(msgSeqKey('{qqwb}', 'app', 'm:}{x'))).toBe(outbound);
    expect(hashTag(idempotencyKey('{qqwb}', 'app', 'ab'))).toBe(outbound);
    expect(hashTag(targetSweepLockKey('{qqwb}', 't1'))).toBe(hashTag(targetQueuePrefix('{qqwb}', 't1')));
    expect(hashTag(gatewayReadyKey('{qqwb}', 'app'))).toBe(hashTag(replicasKey('{qqwb}', 'app')));
  });

  it('escapes ids so that none can close the tag early or collide with another', () => {
    expect(escapeKeyPart('a}b{c:d%e')).toBe('a%7Db%7Bc%3Ad%25e');
    const key = leaseKey('{qqwb}', 'x}y', 0);
    expect(hashTag(key)).toBe('qqwb:shard:x%7Dy:0');
    expect(outboundQueuePrefix('{qqwb}', 'a:b')).not.toBe(outboundQueuePrefix('{qqwb}', 'a%3Ab'));
    expect(leaseKey('{qqwb}', 'a:1', 2)).not.toBe(leaseKey('{qqwb}', 'a', 12));
  });

  it('reads the base of {name} and of a bare name, and refuses any other braces or spaces', () => {
    expect(parseKeyBase('{qqwb}')).toBe('qqwb');
    expect(parseKeyBase('qqwb')).toBe('qqwb');
    expect(targetQueuePrefix('qqwb', 't1')).toBe(targetQueuePrefix('{qqwb}', 't1'));
    for (const bad of ['', '{}', '{qqwb}:eu', 'a{b}', '{a{b}', 'a b', '{qq wb}']) {
      expect(parseKeyBase(bad), bad).toBeUndefined();
    }
  });

  it('finds the keys of both layouts by pattern, with glob characters escaped', () => {
    expect(keyPatterns('{qqwb}')).toEqual(['{qqwb:*', '{qqwb}*']);
    expect(keyPatterns('{q*b}')).toEqual(['{q\\*b:*', '{q\\*b}*']);
  });
});
