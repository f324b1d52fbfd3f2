/**
 * Redis commands a pipe issues, from the server's `INFO commandstats`: calls per command since the server
 * started, so the difference between two readings is what every client ran meanwhile. Commands that a Lua
 * script calls are counted too (each `redis.call` under its own name, beside the EVALSHA that ran it), so the sum
 * is the work Redis did, not the round trips. The pipes run one after another on the bench's Redis; within a
 * window the pipe under test is the only client that works, and what the bench asks itself is taken out.
 */
import type { Redis } from 'ioredis';

/** Calls per command name (`evalsha`, `client|setname`...). */
export type CommandCalls = Map<string, number>;

/**
 * The bench's own probes during a window (`INFO cpu`, the `INFO commandstats` that opens it): neither pipe sends
 * INFO once connected (ioredis and BullMQ do at connect only), so the whole count is left out.
 */
const BENCH_ONLY_COMMANDS = new Set(['info']);

/** Commands that run a Lua script or function: one call each, however many commands the script runs. */
const SCRIPT_COMMANDS = new Set(['eval', 'evalsha', 'eval_ro', 'evalsha_ro', 'fcall', 'fcall_ro']);

export async function commandCalls(redis: Redis): Promise<CommandCalls> {
  const info = await redis.info('commandstats');
  const calls: CommandCalls = new Map();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(match[1]!, Number(match[2]));
  return calls;
}

/** `to − from` per command, without the bench's own commands; commands with no calls meanwhile are dropped. */
export function callsBetween(from: CommandCalls, to: CommandCalls): CommandCalls {
  const delta: CommandCalls = new Map();
  for (const [name, calls] of to) {
    const count = calls - (from.get(name) ?? 0);
    if (count > 0 && !BENCH_ONLY_COMMANDS.has(name)) delta.set(name, count);
  }
  return delta;
}

/** `a − b` per command, never below 0: a window's calls without what a known side probe cost. */
export function callsWithout(a: CommandCalls, b: CommandCalls): CommandCalls {
  const rest: CommandCalls = new Map();
  for (const [name, calls] of a) {
    const count = calls - (b.get(name) ?? 0);
    if (count > 0) rest.set(name, count);
  }
  return rest;
}

export function totalCalls(calls: CommandCalls): number {
  let total = 0;
  for (const count of calls.values()) total += count;
  return total;
}

export function scriptCalls(calls: CommandCalls): number {
  let total = 0;
  for (const [name, count] of calls) if (SCRIPT_COMMANDS.has(name)) total += count;
  return total;
}

/** The `n` commands called most, highest first. */
export function topCommands(calls: CommandCalls, n: number): { command: string; calls: number }[] {
  return [...calls]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([command, count]) => ({ command, calls: count }));
}
