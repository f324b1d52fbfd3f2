import type { Command } from 'commander';
import { Redis } from 'ioredis';
import { BridgeError } from '../errors.js';
import {
  countDeadLetters,
  listDeadLetters,
  openDeliveryQueue,
  purgeDeadLetters,
  replayDeadLetters,
  showDeadLetter,
  type DeliveryQueue,
  type PurgeSelector,
} from '../queue/dlq.js';
import { parseSince, replaySince } from '../queue/replay-since.js';
import { parseDuration } from '../util/duration.js';
import { confirm, type PromptStreams } from './confirm.js';
import { loadConfigFor } from './load-config.js';

interface TargetOptions {
  config?: string;
  target: string;
}

/** Where the dlq commands read and write: the process's own streams, or a test's. */
export interface DlqTerminal {
  readonly stdin: NodeJS.ReadableStream;
  /** Results, for scripts. */
  readonly stdout: NodeJS.WritableStream;
  /** Progress and questions, so stdout stays clean. */
  readonly stderr: NodeJS.WritableStream;
  /** Whether someone can answer a question: stdin is a terminal. */
  readonly interactive: boolean;
}

function processTerminal(): DlqTerminal {
  return {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    interactive: process.stdin.isTTY === true,
  };
}

/** Opens the target's queue, runs `fn`, and always closes the queue and the connection. */
async function withQueue<T>(
  opts: TargetOptions,
  fn: (queue: DeliveryQueue, redis: Redis) => Promise<T>,
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
      return await fn(queue, redis);
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
function progressPrinter(stderr: NodeJS.WritableStream): (done: number, total: number) => void {
  let lastShown = 0;
  return (done, total) => {
    if (total >= 100 && (done - lastShown >= total / 20 || done === total)) {
      lastShown = done;
      stderr.write(`replayed ${done}/${total}\n`);
    }
  };
}

/** What `dlq purge` was asked to remove, checked before anything is opened. */
function purgeSelector(opts: { id?: string; all?: boolean; olderThan?: string }): PurgeSelector {
  if (opts.olderThan === undefined) return selector(opts);
  if (opts.id || opts.all) throw usage('--older-than cannot be combined with --id or --all');
  const age = parseDuration(opts.olderThan, 'd');
  if ('problem' in age) throw usage(`--older-than: ${JSON.stringify(opts.olderThan)} ${age.problem}`);
  return { failedUpToMs: Date.now() - age.ms };
}

/** The confirmation question of `dlq purge`, naming how many dead letters go. */
export function purgeQuestion(
  count: number,
  targetId: string,
  which: { id?: string; olderThan?: string },
): string {
  if (which.id !== undefined) return `delete dead letter ${which.id} of target ${targetId}? [y/N] `;
  const letters = count === 1 ? '1 dead letter' : `${count} dead letters`;
  const age = which.olderThan === undefined ? '' : ` older than ${which.olderThan}`;
  return `delete ${letters} of target ${targetId}${age}? [y/N] `;
}

/**
 * `dlq list|show|replay|purge`: inspect and act on a target's dead-letter queue.
 *
 * @param terminal - where the commands read and write; default the process's stdin, stdout and stderr
 */
export function registerDlqCommands(
  program: Command,
  setExit: (code: number) => void,
  terminal: DlqTerminal = processTerminal(),
): void {
  const write = (line: string): void => {
    terminal.stdout.write(`${line}\n`);
  };
  const prompt: PromptStreams = { input: terminal.stdin, output: terminal.stderr };
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
      const count = await withQueue(opts, (queue) =>
        replayDeadLetters(queue, which, progressPrinter(terminal.stderr)),
      );
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
    .description('delete dead letters for good; asks first, with how many, unless --yes')
    .option('--id <eventId>', 'one event')
    .option('--all', 'every dead letter of the target')
    .option(
      '--older-than <duration>',
      'those that failed longer ago than this: 12h, 7d (units ms, s, m, h, d)',
    )
    .option('--yes', 'do not ask; needed when stdin is not a terminal (scripts, cron)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ qq-webhook-bridge dlq purge --target backend --older-than 7d\n' +
        '  $ qq-webhook-bridge dlq purge --target backend --all --yes',
    )
    .action(
      async (opts: TargetOptions & { id?: string; all?: boolean; olderThan?: string; yes?: boolean }) => {
        const which = purgeSelector(opts);
        if (!opts.yes && !terminal.interactive) {
          throw usage(
            'dlq purge deletes for good and asks first, but stdin is not a terminal; add --yes to purge without asking',
          );
        }
        const count = await withQueue(opts, async (queue, redis) => {
          if (!opts.yes) {
            const found = await countDeadLetters(queue, redis, which);
            if (found === 0) return 0;
            if (!(await confirm(purgeQuestion(found, opts.target, opts), prompt))) {
              throw new BridgeError('BRIDGE_ERR_ABORTED', 'not confirmed; nothing was deleted');
            }
          }
          return purgeDeadLetters(queue, which);
        });
        write(`purged ${count} for target ${opts.target}`);
        setExit(0);
      },
    );

  common(program.command('replay'))
    .description(
      'deliver again everything a target finished since a time (delivered or dead-lettered), same webhook-id',
    )
    .requiredOption('--since <time>', 'a duration back from now (2h, 30m, 7d) or an ISO 8601 time')
    .addHelpText(
      'after',
      '\nDelivered events are kept for an hour (at most 1000 per target); dead letters for\n' +
        'delivery.dead_letter.max_age (default 7d, at most max_count per target) or until purged.\n' +
        'Example:\n  $ qq-webhook-bridge replay --target backend --since 30m',
    )
    .action(async (opts: TargetOptions & { since: string }) => {
      const since = parseSince(opts.since, Date.now());
      if ('problem' in since) throw usage(`--since: ${JSON.stringify(opts.since)} ${since.problem}`);
      const count = await withQueue(opts, (queue) =>
        replaySince(queue, since.sinceMs, progressPrinter(terminal.stderr)),
      );
      write(`replayed ${count} for target ${opts.target} since ${new Date(since.sinceMs).toISOString()}`);
      setExit(0);
    });
}
