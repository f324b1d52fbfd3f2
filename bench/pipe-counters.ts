/**
 * What a pipe does per delivered event over a throughput window, beside its CPU: the turns of its event loop
 * (bench/loop-probe.ts, read on demand) and the Redis commands run meanwhile (bench/redis-commands.ts). Both
 * are read at the window's two ends, while the pipe is idle, so each difference is the window's work alone.
 */
import type { Redis } from 'ioredis';
import { readLoop, type LoopReading } from './loop-counter.js';
import {
  callsBetween,
  callsWithout,
  commandCalls,
  scriptCalls,
  topCommands,
  totalCalls,
  type CommandCalls,
} from './redis-commands.js';
import { round } from './stats.js';

/** The counters of one pipe process at one instant. */
export interface CountersAt {
  /** Undefined when the probe did not answer (then the loop figures are NaN). */
  loop?: LoopReading;
  commands: CommandCalls;
}

/** What the bench reads the counters of: the pipe's process and the probe file it writes. */
export interface CountedPipe {
  pid: number;
  probeFile: string;
}

export async function countersAt(redis: Redis, pipe: CountedPipe): Promise<CountersAt> {
  const loop = await readLoop(pipe.probeFile, pipe.pid);
  const commands = await commandCalls(redis);
  return loop ? { loop, commands } : { commands };
}

/** The difference between two readings: loop turns and events, CPU, and calls per command. */
interface Delta {
  loopIterations: number;
  loopEvents: number;
  cpuSec: number;
  commands: CommandCalls;
}

function deltaOf(from: CountersAt, to: CountersAt): Delta {
  return {
    loopIterations: (to.loop?.loopCount ?? NaN) - (from.loop?.loopCount ?? NaN),
    loopEvents: (to.loop?.events ?? NaN) - (from.loop?.events ?? NaN),
    cpuSec: (to.loop?.cpuSec ?? NaN) - (from.loop?.cpuSec ?? NaN),
    commands: callsBetween(from.commands, to.commands),
  };
}

export interface PerEventCounts {
  /** Event-loop iterations of the pipe process per event (libuv's `loopCount`). */
  loopIterationsPerEvent: number;
  /** Events (I/O callbacks, timers) the pipe's loop processed per event. */
  loopEventsPerEvent: number;
  /** The pipe's CPU per 1,000 events by its own `process.cpuUsage()`: a cross-check of /proc's figure. */
  probeCpuSecPer1kEvents: number;
  /** Redis command calls per event, every client's, Lua scripts' own calls included. */
  redisCommandsPerEvent: number;
  /** Of which EVAL/EVALSHA/FCALL calls: scripts run per event. */
  redisScriptsPerEvent: number;
  /** The five commands called most, per event. */
  redisTopCommandsPerEvent: { command: string; perEvent: number }[];
  /** The window's totals, the side probes already taken out. */
  loopIterations: number;
  redisCommands: number;
  /**
   * What the bench's own probes inside the window cost (the queue's waiting count; for the bridge one `/metrics`
   * scrape, which reads queue depths from Redis), measured by running them again once the pipe is idle after
   * the window, and subtracted. The command count is exact; the loop turns, taken idle, are an upper bound.
   */
  sideProbes: { loopIterations: number; redisCommands: number };
}

/**
 * Per-event figures of the window `from` → `to`, less what the side probes cost (`side`: the same probes run once
 * more while the pipe is idle; none when the window had none).
 */
export function perEventCounts(
  window: { from: CountersAt; to: CountersAt },
  events: number,
  side: { from: CountersAt; to: CountersAt } = { from: window.to, to: window.to },
): PerEventCounts {
  const total = deltaOf(window.from, window.to);
  const probes = deltaOf(side.from, side.to);
  const commands = callsWithout(total.commands, probes.commands);
  const loopIterations = total.loopIterations - probes.loopIterations;
  const perEvent = (count: number, digits = 2): number => (events > 0 ? round(count / events, digits) : NaN);
  return {
    loopIterationsPerEvent: perEvent(loopIterations),
    loopEventsPerEvent: perEvent(total.loopEvents - probes.loopEvents),
    probeCpuSecPer1kEvents: perEvent(total.cpuSec * 1000, 3), // as /proc's: side probes included
    redisCommandsPerEvent: perEvent(totalCalls(commands)),
    redisScriptsPerEvent: perEvent(scriptCalls(commands)),
    redisTopCommandsPerEvent: topCommands(commands, 5).map(({ command, calls }) => ({
      command,
      perEvent: perEvent(calls),
    })),
    loopIterations,
    redisCommands: totalCalls(commands),
    sideProbes: { loopIterations: probes.loopIterations, redisCommands: totalCalls(probes.commands) },
  };
}

/** What a pipe does per second while it has no events: timers, heartbeats, polling. */
export interface IdleRates {
  loopIterationsPerSec: number;
  cpuMsPerSec: number;
  redisCommandsPerSec: number;
}

/**
 * The pipe's loop turns, CPU and Redis commands per second over `ms` with no events sent. A timer that wakes the
 * process shows up here however busy the pipe is later, and, at a low event rate, it is charged to every event.
 */
export async function idleRates(redis: Redis, pipe: CountedPipe, ms: number): Promise<IdleRates> {
  const from = await countersAt(redis, pipe);
  await new Promise((resolve) => setTimeout(resolve, ms));
  const to = await countersAt(redis, pipe);
  const delta = deltaOf(from, to);
  const perSec = (value: number): number => round((value / ms) * 1000, 1);
  return {
    loopIterationsPerSec: perSec(delta.loopIterations),
    cpuMsPerSec: perSec(delta.cpuSec * 1000),
    redisCommandsPerSec: perSec(totalCalls(delta.commands)),
  };
}
