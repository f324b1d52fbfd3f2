/**
 * Resource use of another process, read from /proc (Linux): resident memory from /proc/<pid>/status (VmRSS, and
 * VmHWM, the kernel's own peak), CPU time from fields 14 and 15 of /proc/<pid>/stat (utime + stime, in clock
 * ticks). Reading /proc needs no cooperation from the process, so the bridge runs exactly as `node dist/cli.js`.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { nowMs } from './payload.js';

export interface ProcSample {
  atMs: number;
  rssBytes: number;
  /** Peak RSS since the process started (VmHWM). */
  peakRssBytes: number;
  /** User + system CPU seconds since the process started. */
  cpuSec: number;
}

function clockTicksPerSecond(): number {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100; // USER_HZ is 100 on every mainstream Linux build
  }
}

const TICKS_PER_SECOND = clockTicksPerSecond();

function statusKb(status: string, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  return match ? Number(match[1]) : NaN;
}

/** One reading, or undefined once the process is gone. */
export function readProc(pid: number): ProcSample | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces; the fields after its closing parenthesis do not.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state), so utime (14) and stime (15) are fields[11] and fields[12].
    const ticks = Number(fields[11]) + Number(fields[12]);
    return {
      atMs: nowMs(),
      rssBytes: statusKb(status, 'VmRSS') * 1024,
      peakRssBytes: statusKb(status, 'VmHWM') * 1024,
      cpuSec: ticks / TICKS_PER_SECOND,
    };
  } catch {
    return undefined;
  }
}

/** Samples a process every `intervalMs` until stopped; keeps every sample (a few per second, minutes at most). */
export class ProcSampler {
  readonly samples: ProcSample[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pid: number,
    intervalMs: number,
  ) {
    this.take();
    this.timer = setInterval(() => this.take(), intervalMs);
    this.timer.unref();
  }

  /** Takes a sample now (also returned), e.g. at a phase boundary. */
  take(): ProcSample | undefined {
    const sample = readProc(this.pid);
    if (sample) this.samples.push(sample);
    return sample;
  }

  /** The highest RSS seen: the kernel's VmHWM, which also catches peaks between samples. */
  peakRssBytes(): number {
    let peak = 0;
    for (const sample of this.samples) peak = Math.max(peak, sample.peakRssBytes, sample.rssBytes);
    return peak;
  }

  /** The highest sampled RSS between two moments (sampled every interval: a peak between samples is missed). */
  maxRssBetween(fromMs: number, toMs: number): number {
    let peak = 0;
    for (const sample of this.samples) {
      if (sample.atMs >= fromMs && sample.atMs <= toMs) peak = Math.max(peak, sample.rssBytes);
    }
    return peak;
  }

  stop(): void {
    this.take();
    clearInterval(this.timer);
  }
}

/** Open sockets of a process (TCP to Redis and targets, the WebSocket, listeners), or NaN once it is gone. */
export function socketCount(pid: number): number {
  try {
    let sockets = 0;
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) sockets++;
      } catch {
        // closed between the listing and the read
      }
    }
    return sockets;
  } catch {
    return NaN;
  }
}
