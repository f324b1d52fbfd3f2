/**
 * `node --import tsx bench/cluster-alone.ts [--quick] [--cli PATH] [--keep]`: the bench's Redis Cluster phase on
 * its own (npm run build first). Prints its table and writes bench/results/<date>-cluster[-quick].json.
 */
import { clusterPhase } from './cluster.js';
import { clusterSummary, clusterTable } from './cluster-report.js';
import { runPhaseAlone } from './phase-alone.js';

await runPhaseAlone({
  label: 'redis cluster',
  fileTag: 'cluster',
  resultKey: 'cluster',
  run: clusterPhase,
  table: clusterTable,
  summary: clusterSummary,
});
