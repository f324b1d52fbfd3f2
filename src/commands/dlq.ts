import { Command, Option } from 'commander';
import { Redis } from 'ioredis';
import type { BridgeConfig } from '../config/types.js';
import { BridgeError } from '../errors.js';
import {
  listDeadLetters,
  openDeliveryQueue,
  purgeDeadLetters,
  replayDeadLetters,
  showDeadLetter,
  type DeliveryQueue,
} from '../queue/dlq.js';
import { parseSince, replaySince } from '../queue/replay-since.js';
import { parseDurationMs } from '../util/duration.js';
import { loadConfigFor } from './load-config.js';

interface TargetOptions {
  config?: string;
  target: string;
}

/** Opens the target's queue, runs `fn`, and always closes the queue and the connection. */
async function withQueue<T>(
  opts: TargetOptions,
  fn: (queue: DeliveryQueue, config: BridgeConfig) => Promise<T>,
): Promise<T> {
  const config = await loadConfigFor(opts);
  const redis = new Redis(config.redis.url, { maxRetriesPerRequest: 1, lazyConnect: true });
  try {
    await redis.connect().catch((err: unknown) => {
      throw new BridgeError(
        'BRIDGE_ERR_REDIS',
        `cannot reach Redis (redis.url in ${config.source}): ${String(err)}`,
      );
    });
    const queue = openDeliveryQueue(config, opts.target, redis);
    try {
      return await fn(queue, config);
    } finally {
      await queue.close();
    }
  } finally {
    redis.disconnect();
  }
}

function usage(message: string): BridgeError {
  return new BridgeError('BRIDGE_ERR_USAGE', message);
}

function selector(opts: { id?: string; all?: boolean }): { eventId: string } | { all: true } {
  if (opts.id && opts.all) throw usage('give either --id or --all, not both');
  if (opts.id) return { eventId: opts.id };
  if (opts.all) return { all: true };
  throw usage('say which entries: --id EVENT_ID or --all');
}

/** Progress on stderr (stdout stays clean for scripts), about every 5 %, only for long operations. */
function progressPrinter(): (done: number, total: number) => void {
  let lastShown = 0;
  return (done, total) => {
    if (total >= 100 && (done - lastShown >= total / 20 || done === total)) {
      lastShown = done;
      process.stderr.write(`replayed ${done}/${total}\n`);
    }
  };
}

function write(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** `dlq list|show|replay|purge`: inspect and act on a target's dead-letter queue. */
export function registerDlqCommands(program: Command, setExit: (code: number) => void): void {
  const dlq = program
    .command('dlq')
    .description("inspect, replay and purge a target's dead-letter queue (failed deliveries)");
  const common = (cmd: Command): Command =>
    cmd
      .option('-c, --config <path>', 'config file (default: $QQWB_CONFIG or config/bridge.yaml)')
      .requiredOption('-t, --target <id>', 'target id from the config');

  common(dlq.command('list'))
    .description('one row per dead-lettered delivery: event id, type, attempts, last status/error, failed at')
    .option('--json', 'print one JSON array on stdout and nothing else')
    .option('--limit <n>', 'at most this many rows', (v) => Number(v), 100)
    .addHelpText('after', '\nExample:\n  $ qq-webhook-bridge dlq list --target backend --json | jq .')
    .action(async (opts: TargetOptions & { json?: boolean; limit: number }) => {
      const rows = await withQueue(opts, (queue) => listDeadLetters(queue, { limit: opts.limit }));
      if (opts.json) write(JSON.stringify(rows));
      else if (rows.length === 0) write(`no dead letters for target ${opts.target}`);
      else {
        for (const row of rows) {
          const last = row.lastStatus !== undefined ? `HTTP ${row.lastStatus}` : (row.lastError ?? '');
          write(`${row.failedAt}  ${row.eventId}  ${row.type}  attempts=${row.attempts}  ${last}`);
        }
      }
      setExit(0);
    });

  common(dlq.command('show'))
    .description('print the envelope and every attempt of one dead-lettered delivery')
    .requiredOption('--id <eventId>', 'the event id (webhook-id)')
    .action(async (opts: TargetOptions & { id: string }) => {
      const detail = await withQueue(opts, (queue) => showDeadLetter(queue, opts.id));
      if (!detail) {
        throw new BridgeError(
          'BRIDGE_ERR_NOT_FOUND',
          `no dead letter ${opts.id} for target ${opts.target} (see dlq list)`,
        );
      }
      write(JSON.stringify(detail, null, 2));
      setExit(0);
    });

  common(dlq.command('replay'))
    .description('re-enqueue dead letters for delivery with the same webhook-id')
    .option('--id <eventId>', 'one event')
    .option('--all', 'every dead letter of the target')
    .addHelpText(
      'after',
      '\nExamples:\n  $ qq-webhook-bridge dlq replay --target backend --all\n  $ qq-webhook-bridge dlq replay --target backend --id GROUP_ADD_ROBOT:…',
    )
    .action(async (opts: TargetOptions & { id?: string; all?: boolean }) => {
      const which = selector(opts);
      const count = await withQueue(opts, (queue) => replayDeadLetters(queue, which, progressPrinter()));
      if ('eventId' in which && count === 0) {
        throw new BridgeError(
          'BRIDGE_ERR_NOT_FOUND',
          `no dead letter ${which.eventId} for target ${opts.target}`,
        );
      }
      write(`replayed ${count} for target ${opts.target}`);
      setExit(0);
    });

  common(dlq.command('purge'))
    .description('delete dead letters for good')
    .option('--id <eventId>', 'one event')
    .option('--all', 'every dead letter of the target')
    .addOption(new Option('--older-than <duration>', 'those that failed longer ago than this, e.g. 7d'))
    .action(async (opts: TargetOptions & { id?: string; all?: boolean; olderThan?: string }) => {
      let which: Parameters<typeof purgeDeadLetters>[1];
      if (opts.olderThan !== undefined) {
        if (opts.id || opts.all) throw usage('--older-than cannot be combined with --id or --all');
        const ms = parseDurationMs(opts.olderThan);
        if (ms === undefined)
          throw usage(`--older-than expects a duration like 12h or 7d, got "${opts.olderThan}"`);
        which = { olderThanMs: ms };
      } else which = selector(opts);
      const count = await withQueue(opts, (queue) => purgeDeadLetters(queue, which));
      write(`purged ${count} for target ${opts.target}`);
      setExit(0);
    });

  common(program.command('replay'))
    .description(
      'deliver again everything a target finished since a time (delivered or dead-lettered), same webhook-id',
    )
    .requiredOption('--since <time>', 'a duration back from now (2h, 30m) or an ISO 8601 time')
    .addHelpText(
      'after',
      '\nDelivered events are kept for an hour (at most 1000 per target); dead letters until purged.\n' +
        'Example:\n  $ qq-webhook-bridge replay --target backend --since 30m',
    )
    .action(async (opts: TargetOptions & { since: string }) => {
      const sinceMs = parseSince(opts.since, Date.now(), parseDurationMs);
      if (sinceMs === undefined)
        throw usage(`--since expects a duration like 2h or an ISO time, got "${opts.since}"`);
      const count = await withQueue(opts, (queue) => replaySince(queue, sinceMs, progressPrinter()));
      write(`replayed ${count} for target ${opts.target} since ${new Date(sinceMs).toISOString()}`);
      setExit(0);
    });
}
