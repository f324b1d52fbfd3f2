import { setFlagsFromString } from 'node:v8';

/**
 * The one WebAssembly module in the bridge is undici's HTTP parser (llhttp). V8 first compiles it with its baseline
 * compiler (Liftoff), then recompiles its hot functions with the optimizing one; that recompilation of llhttp's
 * large parser function takes ~34 MB of native memory for a moment, on the first HTTP answer after start, and set
 * the process's peak RSS (bench/README.md). The baseline code parses the bridge's small HTTP answers at no
 * measurable CPU cost, so the bridge keeps it. Read when a module is compiled, so it must be set before the first
 * HTTP request.
 */
export const WASM_BASELINE_FLAG = '--liftoff-only';

/** V8 flags that say how WebAssembly is compiled: when the operator sets any of them, theirs wins. */
const WASM_TIER_FLAGS = ['liftoff', 'liftoff-only', 'wasm-tier-up', 'wasm-dynamic-tiering'];

/** What {@link keepWasmBaseline} did. */
export type WasmTierSetting =
  | { readonly applied: true; readonly flag: string }
  | { readonly applied: false; readonly reason: 'set by the operator' };

/** Whether `arg` sets one of {@link WASM_TIER_FLAGS} (`--x`, `--no-x`, `--x=v`; V8 reads `_` as `-`). */
function setsWasmTier(arg: string): boolean {
  const name = arg.replace(/=.*$/, '').replace(/_/g, '-');
  return WASM_TIER_FLAGS.some((flag) => name === `--${flag}` || name === `--no-${flag}`);
}

/**
 * Keeps WebAssembly on V8's baseline compiler ({@link WASM_BASELINE_FLAG}) unless the node command line or
 * `NODE_OPTIONS` says how WebAssembly is compiled, which always wins.
 */
export function keepWasmBaseline(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string = process.env.NODE_OPTIONS ?? '',
): WasmTierSetting {
  if (execArgv.some(setsWasmTier) || nodeOptions.split(/\s+/).some(setsWasmTier)) {
    return { applied: false, reason: 'set by the operator' };
  }
  setFlagsFromString(WASM_BASELINE_FLAG);
  return { applied: true, flag: WASM_BASELINE_FLAG };
}
