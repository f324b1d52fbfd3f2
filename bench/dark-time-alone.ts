/**
 * `node --import tsx bench/dark-time-alone.ts [--quick] [--cli PATH] [--keep]`: the bench's dark-time phase on
 * its own (npm run build first). Prints its table and writes bench/results/<date>-dark-time[-quick].json.
 */
import { darkTimePhase } from './dark-time.js';
import { darkTimeSummary, darkTimeTable } from './dark-time-report.js';
import { runPhaseAlone } from './phase-alone.js';

await runPhaseAlone({
  label: 'dark time',
  fileTag: 'dark-time',
  resultKey: 'darkTime',
  run: darkTimePhase,
  table: darkTimeTable,
  summary: darkTimeSummary,
});
