import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { keepWasmBaseline, WASM_BASELINE_FLAG } from '../../src/util/wasm-tier.js';

const LEFT_ALONE = { applied: false, reason: 'set by the operator' };

describe('keepWasmBaseline', () => {
  it('sets the baseline flag when the operator did not say how WebAssembly is compiled', () => {
    expect(keepWasmBaseline([], '')).toEqual({ applied: true, flag: WASM_BASELINE_FLAG });
    expect(
      keepWasmBaseline(['--enable-source-maps'], '--max-old-space-size=512 --wasm-max-mem-pages=9'),
    ).toEqual({ applied: true, flag: WASM_BASELINE_FLAG });
  });

  it('leaves a choice made on the node command line alone, in any spelling', () => {
    for (const arg of [
      '--no-liftoff-only',
      '--liftoff_only',
      '--no-wasm-tier-up',
      '--wasm-dynamic-tiering=false',
    ]) {
      expect(keepWasmBaseline([arg], '')).toEqual(LEFT_ALONE);
    }
  });

  it('leaves a choice made in NODE_OPTIONS alone', () => {
    expect(keepWasmBaseline([], '--enable-source-maps --no-liftoff')).toEqual(LEFT_ALONE);
  });

  it('names a flag this node knows (setFlagsFromString would ignore a misspelt one silently)', () => {
    const run = spawnSync(process.execPath, [WASM_BASELINE_FLAG, '-e', '0'], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });
});
