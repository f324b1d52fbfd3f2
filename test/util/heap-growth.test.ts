import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { HEAP_GROWING_PERCENT, limitHeapGrowth } from '../../src/util/heap-growth.js';

describe('limitHeapGrowth', () => {
  it('sets the growing factor when the operator did not choose one', () => {
    expect(limitHeapGrowth([], '')).toEqual({ applied: true, percent: HEAP_GROWING_PERCENT });
    expect(limitHeapGrowth(['--enable-source-maps'], '--max-old-space-size=512')).toEqual({
      applied: true,
      percent: HEAP_GROWING_PERCENT,
    });
  });

  it('leaves a factor chosen on the node command line alone', () => {
    expect(limitHeapGrowth(['--heap-growing-percent=80'], '')).toEqual({
      applied: false,
      reason: 'set by the operator',
    });
  });

  it('leaves a factor chosen in NODE_OPTIONS alone', () => {
    expect(limitHeapGrowth([], '--enable-source-maps --heap-growing-percent=80')).toEqual({
      applied: false,
      reason: 'set by the operator',
    });
  });

  it('names a flag this node knows (setFlagsFromString would ignore a misspelt one silently)', () => {
    const run = spawnSync(process.execPath, [`--heap-growing-percent=${HEAP_GROWING_PERCENT}`, '-e', '0'], {
      encoding: 'utf8',
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });
});
