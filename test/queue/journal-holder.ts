/**
 * A process that holds a journal open: run by journal-lock.test.ts as a real child process. Opens the journal in
 * $J_DIR, prints one JSON line `{ lock, since }` on stdout, then waits; SIGTERM closes the journal (releasing the
 * lock) and exits 0.
 */
import { silentLogger } from '../../src/log.js';
import { Journal } from '../../src/queue/journal.js';

const dir = process.env['J_DIR'];
if (!dir) throw new Error('J_DIR is not set');
const journal = await Journal.open({ dir, maxBytes: 1 << 20, logger: silentLogger() });
const keepAlive = setInterval(() => undefined, 1000);
process.once('SIGTERM', () => {
  clearInterval(keepAlive);
  void journal.close().then(() => {
    process.stdout.write('closed\n');
  });
});
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
