/** The cluster phase's table and its part of the summary line. */
import type { ClusterPhase, ClusterRun } from './cluster.js';
import { table } from './table.js';

export function clusterTable(phase: ClusterPhase): string {
  const row = (what: string, run: ClusterRun): (string | number)[] => [
    what,
    run.minReplicas,
    run.events,
    run.eventsPerSec,
    run.lost,
    run.duplicates,
    run.waitCalls ?? '–',
  ];
  return [
    table(
      `redis cluster — e2e, 1 target, ${phase.events} events each, first send → last delivery; cluster of ` +
        `${phase.masters} masters + ${phase.masters * phase.replicasPerMaster} replicas on loopback`,
      ['redis', 'min_replicas', 'events', 'ev/s', 'lost', 'dup', 'WAIT calls'],
      [
        row('single node (url)', phase.single),
        row('cluster', phase.clusterNoWait),
        row('cluster', phase.clusterWait),
      ],
    ),
    `  cluster/single ${phase.clusterOverSingle.toFixed(2)}   ` +
      `min_replicas 1/0 on the cluster ${phase.waitOverNoWait.toFixed(2)}`,
  ].join('\n');
}

export function clusterSummary(phase: ClusterPhase): string {
  return (
    `cluster ${phase.clusterNoWait.eventsPerSec} ev/s (single ${phase.single.eventsPerSec}, ` +
    `cluster/single ${phase.clusterOverSingle.toFixed(2)}), min_replicas 1 ${phase.clusterWait.eventsPerSec} ev/s ` +
    `(1/0 ${phase.waitOverNoWait.toFixed(2)})`
  );
}
