import { readFileSync } from 'node:fs';
import {
  faultEntries,
  type DarkTime,
  type SocketFaultKind,
  type TimelineEntry,
} from '../../src/simulator/index.js';
import { checkConfig } from './bridge-process.js';
import type { ChaosReport, ChaosWorld } from './world.js';

/** The shard every chaos bridge holds (one shard, as `/gateway/bot` recommends by default). */
export const SHARD = 0;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function timeline(w: ChaosWorld): TimelineEntry[] {
  return w.sim.state().timeline;
}

/** The seq of the newest timeline entry: what came after it is the next fault's. */
export function lastSeq(w: ChaosWorld): number {
  return timeline(w).at(-1)?.seq ?? 0;
}

/** Polls `read` until it returns a value; fails after `timeoutMs` with the tail of each bridge log named. */
export async function poll<T>(
  w: ChaosWorld,
  what: string,
  read: () => T | undefined,
  logs: string[] = ['a'],
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}\n${logs.map((slot) => w.logTail(slot)).join('\n')}`);
    }
    await sleep(20);
  }
}

/** The first fault of `kind` on the shard after seq `afterSeq`. */
export function faultAfter(
  w: ChaosWorld,
  kind: SocketFaultKind,
  afterSeq: number,
): TimelineEntry | undefined {
  return faultEntries(timeline(w), { shard: SHARD, kind, afterSeq })[0];
}

/** Waits until `measure` says the shard is back (READY or RESUMED sent), and returns that measurement. */
export function recovered(
  w: ChaosWorld,
  what: string,
  measure: (entries: TimelineEntry[]) => DarkTime,
  logs: string[] = ['a'],
): Promise<DarkTime> {
  return poll(
    w,
    `${what}: the shard READY or RESUMED again`,
    () => {
      const dark = measure(timeline(w));
      return dark.darkMs === undefined ? undefined : dark;
    },
    logs,
  );
}

const ms = (value: number | undefined): string => (value === undefined ? '–' : `${Math.round(value)} ms`);

/** One printed line: what happened, the dark time, the client's first handshake, and the counts. */
export function darkLine(label: string, dark: DarkTime, report: ChaosReport, duplicatedBefore = 0): string {
  const handshake = dark.handshake
    ? `first ${dark.handshake.event === 'resume_received' ? 'RESUME' : 'IDENTIFY'} after ${ms(dark.handshake.ms)}`
    : 'no handshake seen';
  const back = dark.up?.event === 'ready_sent' ? 'READY' : 'RESUMED';
  return (
    `dark-time: ${label.padEnd(34)} dark ${ms(dark.darkMs).padStart(8)} (until ${back}; ${handshake}), ` +
    `lost ${report.lost}, duplicated ${report.duplicated - duplicatedBefore}, ` +
    `redelivered after kill ${report.redeliveredAfterKill}`
  );
}

/**
 * Whether this build of the bridge knows the `gateway` keys given: `config check` of a config with them. Undefined
 * when it does, else what `config check` said.
 */
export async function unsupportedGatewayKeys(
  w: ChaosWorld,
  gateway: Record<string, string>,
): Promise<string | undefined> {
  const { code, output } = await checkConfig(w.configFor('config-check', '', gateway));
  return code === 0 ? undefined : `exit ${code}: ${output.trim()}`;
}

/** The slot, of `slots`, whose log says it acquired the shard lease: the one holding the shard now. */
export function leaseHolderSlot(w: ChaosWorld, slots: string[]): string | undefined {
  return slots.find((slot) => {
    try {
      return readFileSync(w.logFile(slot), 'utf8').includes('acquired the shard lease');
    } catch {
      return false;
    }
  });
}
