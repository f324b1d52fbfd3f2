/** The run's result: one JSON document, a few text tables, and the one-line summary the bench ends with. */
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterPhase } from './cluster.js';
import { clusterSummary, clusterTable } from './cluster-report.js';
import type { DarkTimePhase } from './dark-time.js';
import { darkTimeSummary, darkTimeTable } from './dark-time-report.js';
import type { Plan } from './options.js';
import type {
  BacklogPhase,
  DirectPhase,
  FanoutRow,
  IngestPhase,
  LatencyResult,
  MemoryReport,
  PipePhase,
  ProfilePhase,
  RepliesPhase,
  SoakPhase,
} from './phases.js';
import { round } from './stats.js';
import { table } from './table.js';

/** The project's targets on its 2-core reference machine. */
export const TARGETS = {
  e2eOverNaive: 1.3,
  p99At1000Ms: 50,
  peakRssMB: 150,
  /** "No growth over the soak": a trend below this (MB/min over the second half) counts as flat. */
  soakSlopeMBPerMin: 1,
} as const;

export interface Environment {
  node: string;
  cpus: number;
  cpuModel: string;
  totalMemMB: number;
  loadAvgStart: number[];
  loadAvgEnd: number[];
  commit: string;
  dirty: boolean;
  cli: string;
}

export interface TargetCheck {
  name: string;
  target: string;
  value: number;
  pass: boolean;
}

export interface BenchResult {
  version: 1;
  startedAt: string;
  durationSec: number;
  mode: 'quick' | 'full';
  environment: Environment;
  settings: { concurrency: number; outage: string; bridgeNodeArgs: string[]; plan: Plan };
  direct: DirectPhase;
  naive: PipePhase;
  e2e: PipePhase;
  /** The bridge's gateway half alone (`--role gateway`). */
  ingest: IngestPhase;
  /** How long the shard has no READY/RESUMED session after each kind of gateway fault. */
  darkTime: DarkTimePhase;
  /** Every @-message answered with one reply: the outbound path end to end. */
  replies: RepliesPhase;
  /** e2e on a Redis Cluster beside the single node, and the cluster with min_replicas 0 vs 1. */
  cluster: ClusterPhase;
  /** `repliesOverE2e`: replies/s with a reply per event ÷ the inbound-only e2e ev/s of the same run. */
  ratios: { e2eOverNaive: number; e2eOverDirect: number; repliesOverE2e: number };
  fanout: FanoutRow[];
  backlog: BacklogPhase;
  /** The bridge over every run but the profiled one: the highest peak RSS, and CPU in the throughput run. */
  bridge: { peakRssMB: number; cpuSecPer1kEvents: number };
  soak?: SoakPhase;
  profile?: ProfilePhase;
  targets: TargetCheck[];
  summary: string;
}

export type Measurements = Omit<BenchResult, 'ratios' | 'bridge' | 'targets' | 'summary'>;

function latencyAt(phase: PipePhase, rate: number): LatencyResult | undefined {
  return phase.latency.find((l) => l.offeredPerSec === rate);
}

/** Derives ratios, the bridge's resource figures, the target checks and the summary line. */
export function buildResult(m: Measurements): BenchResult {
  const e2e = m.e2e.throughput.eventsPerSec;
  const ratios = {
    e2eOverNaive: round(e2e / m.naive.throughput.eventsPerSec, 2),
    e2eOverDirect: round(e2e / m.direct.perSec, 2),
    repliesOverE2e: round(m.replies.throughput.repliesPerSec / e2e, 2),
  };
  const peaks = [
    m.e2e.session.peakRssMB,
    m.replies.session.peakRssMB,
    ...m.fanout.map((row) => row.processPeakRssMB),
  ];
  if (m.soak) peaks.push(m.soak.peakRssMB);
  const bridge = { peakRssMB: Math.max(...peaks), cpuSecPer1kEvents: m.e2e.throughput.cpuSecPer1kEvents };
  const p99 = latencyAt(m.e2e, 1000)?.latencyMs.p99 ?? NaN;
  const targets: TargetCheck[] = [
    {
      name: 'e2e/naive',
      target: `≥ ${TARGETS.e2eOverNaive}`,
      value: ratios.e2eOverNaive,
      pass: ratios.e2eOverNaive >= TARGETS.e2eOverNaive,
    },
    {
      name: 'p99 at 1000 ev/s (ms)',
      target: `≤ ${TARGETS.p99At1000Ms}`,
      value: p99,
      pass: p99 <= TARGETS.p99At1000Ms,
    },
    {
      name: 'bridge peak RSS, every run (MB)',
      target: `≤ ${TARGETS.peakRssMB}`,
      value: bridge.peakRssMB,
      pass: bridge.peakRssMB <= TARGETS.peakRssMB,
    },
    {
      // The same limit on the 1-target bridge alone (throughput, latency and backlog runs): the figure that
      // excludes the fan-out runs' 50 workers and ~450 sockets.
      name: 'bridge peak RSS, 1 target (MB)',
      target: `≤ ${TARGETS.peakRssMB}`,
      value: m.e2e.session.peakRssMB,
      pass: m.e2e.session.peakRssMB <= TARGETS.peakRssMB,
    },
  ];
  if (m.soak) {
    const growth = m.soak.rssSlopeMBPerMin;
    targets.push({
      name: 'soak RSS trend (MB/min)',
      target: `< ${TARGETS.soakSlopeMBPerMin}`,
      value: growth,
      pass: growth < TARGETS.soakSlopeMBPerMin,
    });
  }
  const replyP99 = m.replies.latency.latencyMs.p99;
  const summary =
    `bench: e2e ${e2e} ev/s, naive ${m.naive.throughput.eventsPerSec} ev/s, direct ${m.direct.perSec} req/s, ` +
    `e2e/naive ${ratios.e2eOverNaive.toFixed(2)}, p99@1000/s ${p99.toFixed(1)} ms, rss ${Math.round(bridge.peakRssMB)} MB, ` +
    `replies ${m.replies.throughput.repliesPerSec}/s, reply p99@${m.replies.latency.offeredPerSec}/s ${replyP99.toFixed(1)} ms, ` +
    `${darkTimeSummary(m.darkTime)}, ${clusterSummary(m.cluster)}, ${perEventSummary(m.e2e, m.naive)}`;
  return { ...m, ratios, bridge, targets, summary };
}

/** `loop/ev e2e <x> naive <y>, redis cmd/ev e2e <x> naive <y>`: the pipes' work per event at max throughput. */
function perEventSummary(e2e: PipePhase, naive: PipePhase): string {
  const figure = (value: number): string => (Number.isNaN(value) ? '–' : value.toFixed(1));
  const [a, b] = [e2e.throughput.perEvent, naive.throughput.perEvent];
  return (
    `loop/ev e2e ${figure(a.loopIterationsPerEvent)} naive ${figure(b.loopIterationsPerEvent)}, ` +
    `redis cmd/ev e2e ${figure(a.redisCommandsPerEvent)} naive ${figure(b.redisCommandsPerEvent)}`
  );
}

/** Loop turns and Redis commands per event at max throughput, with the commands that make up the most. */
function perEventTable(r: BenchResult): string {
  return table(
    "work per event during max throughput (same window as cpu s/1k ev; Redis counts include Lua scripts' calls)",
    [
      'pipe',
      'loop turns',
      'loop events',
      'redis commands',
      'scripts',
      'top commands per event',
      'cpu s/1k ev (process.cpuUsage)',
    ],
    (['naive', 'e2e'] as const).map((kind) => {
      const p = r[kind].throughput.perEvent;
      const top = p.redisTopCommandsPerEvent.map((c) => `${c.command} ${c.perEvent}`).join(', ');
      return [
        kind,
        p.loopIterationsPerEvent,
        p.loopEventsPerEvent,
        p.redisCommandsPerEvent,
        p.redisScriptsPerEvent,
        top || '–',
        p.probeCpuSecPer1kEvents,
      ];
    }),
  );
}

/** What each pipe does per second with no events: a timer waking the process shows here. */
function idleTable(r: BenchResult): string {
  return table(
    'idle, after the warm-up (no events)',
    ['pipe', 'loop turns/s', 'cpu ms/s', 'redis commands/s'],
    (['naive', 'e2e'] as const).map((kind) => {
      const idle = r[kind].idle;
      return [kind, idle.loopIterationsPerSec, idle.cpuMsPerSec, idle.redisCommandsPerSec];
    }),
  );
}

/** Writes `<dir>/<name>.json` through a temporary file, so a reader never sees half a result. */
export function writeResult(dir: string, name: string, result: BenchResult): string {
  const path = join(dir, `${name}.json`);
  writeFileSync(`${path}.tmp`, `${JSON.stringify(result, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
  return path;
}

/** The replies phase's table and what its ratio to the inbound-only figure says. */
function repliesTable(r: BenchResult): string[] {
  const { rateLimit, throughput: t, latency: l } = r.replies;
  const ratio = r.ratios.repliesOverE2e;
  return [
    table(
      `replies — the receiver answers each @-message with one reply; event emitted → reply stored at QQ ` +
        `(simulator log), ms; outbound.rate_limit ${rateLimit.max}/${rateLimit.per}`,
      [
        'run',
        'events',
        'offered/s',
        'sent/s',
        'replies/s',
        'p50',
        'p95',
        'p99',
        'max',
        'gen lag',
        'cpu s/1k ev',
        'outbound waiting at end',
        'delivery waiting at end',
        'lost',
        'dup',
        'rejected',
      ],
      [
        [
          'max, closed loop',
          t.events,
          '–',
          '–',
          t.repliesPerSec,
          '–',
          '–',
          '–',
          '–',
          '–',
          t.cpuSecPer1kEvents,
          t.outboundWaitingAtEnd,
          t.deliveryWaitingAtEnd,
          t.lost,
          t.duplicates,
          t.rejected,
        ],
        [
          'open loop',
          l.events,
          l.offeredPerSec,
          l.achievedPerSec,
          l.repliedPerSecWhileSending,
          l.latencyMs.p50,
          l.latencyMs.p95,
          l.latencyMs.p99,
          l.latencyMs.max,
          l.generatorMaxLagMs,
          l.cpuSecPer1kEvents,
          '–',
          '–',
          l.lost,
          l.duplicates,
          l.rejected,
        ],
      ],
    ),
    `  replies/e2e ${ratio.toFixed(2)}: answering every event with a reply keeps ${Math.round(ratio * 100)}% of ` +
      `the inbound-only rate of this run (e2e ${r.e2e.throughput.eventsPerSec} ev/s); the rest is what the ` +
      `outbound path (the answer, the outbound job, the call to QQ) costs the machine`,
  ];
}

/** The human-readable report (everything is in the JSON too). */
export function formatTables(r: BenchResult): string {
  const parts: string[] = [];
  parts.push(
    table(
      `throughput — max sustained, closed loop (${r.settings.plan.windowDeliveries} deliveries outstanding), ${r.settings.concurrency} in flight`,
      [
        'pipe',
        'ev/s',
        'cpu s/1k ev',
        'loop/ev',
        'redis cmd/ev',
        'RSS start MB',
        'RSS max (run) MB',
        'peak RSS (process) MB',
        'queue waiting at end',
        'lost',
        'dup',
      ],
      [
        [
          'direct (undici → receiver)',
          r.direct.perSec,
          '–',
          '–',
          '–',
          '–',
          '–',
          '–',
          '–',
          r.direct.lost,
          '–',
        ],
        ...(['naive', 'e2e'] as const).map((kind) => {
          const t = r[kind].throughput;
          const s = r[kind].session;
          return [
            kind,
            t.eventsPerSec,
            t.cpuSecPer1kEvents,
            t.perEvent.loopIterationsPerEvent,
            t.perEvent.redisCommandsPerEvent,
            s.startRssMB,
            t.peakRssMB,
            s.peakRssMB,
            t.queueWaitingAtEnd,
            t.lost,
            t.duplicates,
          ];
        }),
        [
          'e2e ingest only (--role gateway)',
          r.ingest.eventsPerSec,
          r.ingest.cpuSecPer1kEvents,
          '–',
          '–',
          '–',
          '–',
          '–',
          '–',
          '–',
          '–',
        ],
      ],
    ),
  );
  parts.push(
    `  e2e/naive ${r.ratios.e2eOverNaive.toFixed(2)}   e2e/direct ${r.ratios.e2eOverDirect.toFixed(2)}`,
  );
  parts.push(perEventTable(r));
  parts.push(idleTable(r));
  parts.push(darkTimeTable(r.darkTime));
  const machineRow = (kind: 'naive' | 'e2e'): (string | number)[] => {
    const t = r[kind].throughput;
    const m = t.machineCpuSecPer1kEvents;
    const total = t.cpuSecPer1kEvents + m.redis + m.receiver + m.bench;
    return [kind, t.cpuSecPer1kEvents, m.redis, m.receiver, m.bench, round(total, 3)];
  };
  const machineRows = [machineRow('naive'), machineRow('e2e')];
  parts.push(
    table(
      `CPU per 1,000 events across the machine during max throughput (${r.environment.cpus} cores, s)`,
      ['pipe', 'pipe process', 'redis', 'receiver', 'bench (sim + load)', 'total'],
      machineRows,
    ),
  );
  const [naiveTotal, e2eTotal] = machineRows.map((row) => Number(row[5]));
  parts.push(
    `  naive total / e2e total ${(naiveTotal! / e2eTotal!).toFixed(2)}: the throughput ratio this machine allows ` +
      `once every core is busy`,
  );
  const memoryLine = (when: string, m: MemoryReport): string =>
    `  bridge memory ${when}: RSS ${m.rssMB} MB; V8 heap ${m.heapTotalMB} MB ` +
    `(used ${m.heapUsedMB}, new space ${m.newSpaceMB}), external ${m.externalMB} MB; ${m.sockets} sockets`;
  if (r.e2e.session.startMemory) parts.push(memoryLine('at start', r.e2e.session.startMemory));
  if (r.e2e.throughput.memoryAtEnd) parts.push(memoryLine('at max throughput', r.e2e.throughput.memoryAtEnd));
  const latencyRows = (['naive', 'e2e'] as const).flatMap((kind) =>
    [...r[kind].latency, ...(r[kind].latencyAtShare ? [r[kind].latencyAtShare] : [])].map((l) => [
      kind,
      l.offeredPerSec,
      l.achievedPerSec,
      l.deliveredPerSecWhileSending,
      l.latencyMs.p50,
      l.latencyMs.p95,
      l.latencyMs.p99,
      l.latencyMs.max,
      l.generatorMaxLagMs,
      l.cpuSecPer1kEvents,
      l.perEvent.loopIterationsPerEvent,
      l.perEvent.redisCommandsPerEvent,
      l.lost,
    ]),
  );
  parts.push(
    table(
      'latency — open loop, simulator send → receiver arrival, ms',
      [
        'pipe',
        'offered/s',
        'sent/s',
        'delivered/s',
        'p50',
        'p95',
        'p99',
        'max',
        'gen lag',
        'cpu s/1k ev',
        'loop/ev',
        'redis cmd/ev',
        'lost',
      ],
      latencyRows,
    ),
  );
  parts.push(
    table(
      `fan-out — every event to each target; p99 at ${r.settings.plan.fanoutLoadShare * 100}% of that max`,
      [
        'targets',
        'ev/s',
        'deliveries/s',
        'p99 ms',
        'at ev/s',
        'cpu s/1k ev',
        'loop/ev',
        'redis cmd/ev',
        'RSS max MB',
        'heap MB',
        'sockets',
        'lost',
      ],
      r.fanout.map((f) => [
        f.targets,
        f.eventsPerSec,
        f.deliveriesPerSec,
        f.p99Ms,
        f.latencyAtPerSec,
        f.cpuSecPer1kEvents,
        f.loopIterationsPerEvent,
        f.redisCommandsPerEvent,
        f.rssMaxMB,
        f.memoryAtEnd?.heapTotalMB ?? NaN,
        f.memoryAtEnd?.sockets ?? NaN,
        f.lost,
      ]),
    ),
  );
  const b = r.backlog;
  parts.push(
    table(
      `backlog — ${b.deliveries} deliveries queued during a target outage (${b.outage}), then drained`,
      [
        'enqueue ev/s (outage)',
        'failed attempts',
        'drain s',
        'drain/s',
        'first after ms',
        'cpu s/1k',
        'peak RSS MB',
        'lost',
        'dup',
      ],
      [
        [
          b.enqueuePerSec,
          b.failedAttempts,
          round(b.drainMs / 1000, 1),
          b.drainPerSec,
          b.firstDeliveryAfterMs,
          b.cpuSecPer1kDeliveries,
          b.peakRssMB,
          b.lost,
          b.duplicates,
        ],
      ],
    ),
  );
  parts.push(...repliesTable(r));
  parts.push(clusterTable(r.cluster));
  if (r.soak) {
    const s = r.soak;
    parts.push(
      table(
        `soak — ${s.ratePerSec} ev/s for ${s.durationMs / 1000} s`,
        [
          'RSS start MB',
          'RSS at 1/4 MB',
          'RSS after MB',
          'trend MB/min (2nd half)',
          'peak RSS MB',
          'p99 ms',
          'lost',
        ],
        [[s.rssStartMB, s.rssWarmMB, s.rssAfterMB, s.rssSlopeMBPerMin, s.peakRssMB, s.latencyMs.p99, s.lost]],
      ),
    );
  }
  if (r.profile) {
    const p = r.profile.summary;
    parts.push(
      table(
        `profile — bridge self time over ${p.windowMs} ms of max throughput (${r.profile.throughput.eventsPerSec} ev/s under the profiler); busy ${p.busyMs} ms, idle ${p.idleMs} ms`,
        ['package', 'ms', '% busy'],
        p.byPackage.map((e) => [e.name, e.ms, e.pct]),
      ),
    );
    parts.push(
      table(
        '  hottest functions (self)',
        ['function', 'where', 'ms', '% busy'],
        p.topSelf.map((e) => [e.name, e.where, e.ms, e.pct]),
      ),
    );
    parts.push(
      table(
        '  bridge functions and BullMQ operations (inclusive)',
        ['function', 'where', 'ms', '% busy'],
        p.inclusive.map((e) => [e.name, e.where, e.ms, e.pct]),
      ),
    );
    parts.push(`  profile: ${p.file}`);
  }
  parts.push(
    table(
      'targets',
      ['check', 'target', 'value', ''],
      r.targets.map((t) => [t.name, t.target, t.value, t.pass ? 'PASS' : 'FAIL']),
    ),
  );
  return parts.join('\n');
}
