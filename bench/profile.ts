/**
 * Summarizes a V8 CPU profile (`node --cpu-prof`) over a time window: where the samples were (self time by
 * function and by package) and which of the bridge's own functions the time was spent under (inclusive time).
 * The window cuts off start-up and shutdown, so the summary describes the loaded steady state only.
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

/** The `.cpuprofile` JSON. Times are µs; `timeDeltas[i]` is the gap before `samples[i]`. */
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileEntry {
  name: string;
  where: string;
  ms: number;
  /** Share of the busy (non-idle) time in the window, %. */
  pct: number;
}

export interface ProfileSummary {
  file: string;
  windowMs: number;
  /** Sampled time that was not idle, ms; the base of every `pct`. */
  busyMs: number;
  idleMs: number;
  gcMs: number;
  /** Functions by self time. */
  topSelf: ProfileEntry[];
  /** Packages (bullmq, ioredis, undici, pino, ws, node core, V8 builtins, bridge/<dir>) by self time. */
  byPackage: ProfileEntry[];
  /**
   * By inclusive time (in them and everything they called): the bridge's own functions (dist/) and BullMQ's Redis
   * operations (addStandardJob, moveToActive, addLog, moveToFinished…), which name the round trips.
   */
  inclusive: ProfileEntry[];
}

const SPECIAL = new Set(['(root)', '(program)', '(idle)', '(garbage collector)']);

/** `dist/queue/producer.js`, `bullmq/dist/esm/classes/worker.js`, `node:internal/...`. */
function shortUrl(url: string): string {
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) return url.slice(modules + '/node_modules/'.length);
  const dist = url.lastIndexOf('/dist/');
  if (dist >= 0) return url.slice(dist + 1);
  return url.replace(/^file:\/\//, '');
}

function packageOf(frame: CallFrame): string {
  if (SPECIAL.has(frame.functionName)) return frame.functionName;
  const { url } = frame;
  if (url === '') return 'V8 builtins / native';
  if (url.startsWith('node:')) return 'node core';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const [scope, name] = url.slice(modules + '/node_modules/'.length).split('/');
    return scope?.startsWith('@') ? `${scope}/${name ?? ''}` : (scope ?? url);
  }
  const dist = /\/dist\/(?:([^/]+)\/)?[^/]+$/.exec(url);
  if (dist) return `bridge/${dist[1] ?? '(root)'}`;
  return 'other';
}

/** The bridge's own code, and BullMQ's backend whose functions are one Redis operation each. */
function isInclusiveFrame(url: string): boolean {
  if (url.endsWith('/bullmq/dist/esm/classes/redis-queue-backend.js')) return true;
  if (url.endsWith('/bullmq/dist/cjs/classes/redis-queue-backend.js')) return true;
  return url.includes('/dist/') && !url.includes('/node_modules/');
}

function keyOf(frame: CallFrame): string {
  return `${frame.functionName || '(anonymous)'}\u0000${shortUrl(frame.url)}:${frame.lineNumber + 1}`;
}

function top(totals: Map<string, number>, busyMs: number, limit: number): ProfileEntry[] {
  return [...totals.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([key, us]) => {
      const [name = key, where = ''] = key.split('\u0000');
      return { name, where, ms: Math.round(us / 1000), pct: Math.round((us / 1000 / busyMs) * 1000) / 10 };
    });
}

/**
 * Summarizes `file` over [fromMs, toMs], in ms after the profile started (the process start, give or take the
 * few ms before V8 begins sampling).
 */
export function summarizeProfile(file: string, fromMs: number, toMs: number, limit = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  const self = new Map<string, number>();
  const packages = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let idleUs = 0;
  let gcUs = 0;
  let busyUs = 0;
  let atUs = 0;
  const { samples, timeDeltas } = profile;
  for (let i = 0; i < samples.length; i++) {
    atUs += timeDeltas[i] ?? 0;
    // A sample stands for the time until the next one.
    const us = timeDeltas[i + 1] ?? 0;
    if (atUs < fromMs * 1000 || atUs > toMs * 1000) continue;
    const node = byId.get(samples[i]!);
    if (!node) continue;
    const name = node.callFrame.functionName;
    if (name === '(idle)') {
      idleUs += us;
      continue;
    }
    busyUs += us;
    if (name === '(garbage collector)') gcUs += us;
    self.set(keyOf(node.callFrame), (self.get(keyOf(node.callFrame)) ?? 0) + us);
    const pkg = packageOf(node.callFrame);
    packages.set(pkg, (packages.get(pkg) ?? 0) + us);
    // Inclusive time: each function counted once per sample, however deep it recurses.
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id)!.callFrame;
      if (!isInclusiveFrame(frame.url)) continue;
      const key = keyOf(frame);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + us);
    }
  }
  const busyMs = busyUs / 1000;
  return {
    file,
    windowMs: Math.round(toMs - fromMs),
    busyMs: Math.round(busyMs),
    idleMs: Math.round(idleUs / 1000),
    gcMs: Math.round(gcUs / 1000),
    topSelf: top(self, busyMs, limit),
    byPackage: top(new Map([...packages].map(([pkg, us]) => [`${pkg}\u0000`, us])), busyMs, limit),
    inclusive: top(inclusive, busyMs, limit * 2),
  };
}
