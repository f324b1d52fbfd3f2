import { setFlagsFromString } from 'node:v8';

/**
 * How much the old generation may grow past what survived the last full GC before the next one, in percent.
 * V8's own factor rises to 300% when allocation is fast, which a bridge under load always is: its live heap is
 * ~25 MB, yet the heap grew to ~130 MB of mostly garbage and RSS stayed there. At 30% a 1-target bridge held
 * ~133 MB at max throughput instead of ~200, with no measurable CPU cost (bench/README.md). Unlike the new-space
 * size, this V8 flag is read at every GC, so it can be set after start.
 */
export const HEAP_GROWING_PERCENT = 30;

const FLAG = '--heap-growing-percent';

/** What {@link limitHeapGrowth} did. */
export type HeapGrowthSetting =
  | { readonly applied: true; readonly percent: number }
  | { readonly applied: false; readonly reason: 'set by the operator' };

/**
 * Sets V8's heap growing factor to {@link HEAP_GROWING_PERCENT} unless the operator chose one in the node
 * command line or `NODE_OPTIONS`, which always wins.
 */
export function limitHeapGrowth(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string = process.env.NODE_OPTIONS ?? '',
): HeapGrowthSetting {
  const chosen = (arg: string): boolean => arg === FLAG || arg.startsWith(`${FLAG}=`);
  if (execArgv.some(chosen) || nodeOptions.split(/\s+/).some(chosen)) {
    return { applied: false, reason: 'set by the operator' };
  }
  setFlagsFromString(`${FLAG}=${HEAP_GROWING_PERCENT}`);
  return { applied: true, percent: HEAP_GROWING_PERCENT };
}
