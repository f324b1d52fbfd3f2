/** The dark-time phase's table and its part of the summary line. */
import type { DarkTimeKind, DarkTimePhase } from './dark-time.js';
import { table } from './table.js';

const WHAT: Record<DarkTimeKind, string> = {
  op7: 'op 7 Reconnect (then close 4009)',
  '4009': 'close 4009',
  cut: 'link cut (no close frame)',
  'half-dead': 'half-dead link (no ACKs, no dispatches)',
  rotation: 'session rotation',
  restart: 'kill -9, restart with the same replica_id',
};

export function darkTimeTable(phase: DarkTimePhase): string {
  return table(
    `gateway dark time — no READY/RESUMED session on the shard, from the fault (kill -9, or the previous READY ` +
      `for a rotation) to the next READY/RESUMED sent, on the simulator's timeline; median of ${phase.repeats}, ` +
      `ms; heartbeat ${phase.heartbeatIntervalMs / 1000} s, rotate_every ${phase.rotateEvery}, ` +
      `${phase.eventsPerSec} ev/s flowing`,
    ['fault', 'median', 'to first IDENTIFY/RESUME', 'samples', 'events', 'lost', 'dup'],
    phase.rows.map((row) =>
      row.measured
        ? [
            WHAT[row.kind],
            row.medianMs,
            row.handshakeMedianMs,
            row.samplesMs.join(' '),
            row.events,
            row.lost,
            row.duplicates,
          ]
        : [WHAT[row.kind], '–', '–', `not measured: ${row.note ?? ''}`, '–', '–', '–'],
    ),
  );
}

/** e.g. `dark ms op7 702, 4009 560, cut 811, half-dead 2268, rotation –, restart –` */
export function darkTimeSummary(phase: DarkTimePhase): string {
  const figures = phase.rows.map((row) => `${row.kind} ${row.measured ? row.medianMs : '–'}`);
  return `dark ms ${figures.join(', ')}`;
}
