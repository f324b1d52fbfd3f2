// Fails on high or critical advisories in runtime dependencies; an unreachable registry is reported, not fatal.
import { execFileSync } from 'node:child_process';

let out = '';
try {
  out = execFileSync('npm', ['audit', '--omit=dev', '--json'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
} catch (err) {
  out = err.stdout ?? '';
}
let report;
try {
  report = JSON.parse(out);
} catch {
  console.log('audit: the registry could not be reached; skipped');
  process.exit(0);
}
const counts = report?.metadata?.vulnerabilities;
if (!counts) {
  console.log(
    `audit: no result (${report?.error?.summary || report?.message || 'registry unreachable'}); skipped`,
  );
  process.exit(0);
}
const serious = (counts.high ?? 0) + (counts.critical ?? 0);
console.log(`audit: ${JSON.stringify(counts)}`);
process.exit(serious > 0 ? 1 : 0);
