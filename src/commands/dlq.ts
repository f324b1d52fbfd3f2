import type { Queue } from 'bullmq';
import type { Command } from 'commander';
import type { BridgeConfig } from '../config/types.js';
import { BridgeError } from '../errors.js';
import {
  listOutboundDeadLetters,
  replayOutboundDeadLetters,
  showOutboundDeadLetter,
  type OutboundDeadLetterQueue,
  type OutboundDeadLetterRow,
} from '../outbound/dead-letters.js';
import { openLegacyOutboundQueue, openOutboundQueue } from '../outbound/send-queue.js';
import {
  countDeadLetters,
  listDeadLetters,
  openDeliveryQueue,
  openLegacyDeliveryQueue,
  purgeDeadLetters,
  replayDeadLetters,
  showDeadLetter,
  type DeliveryQueue,
  type PurgeSelector,
  type ReplaySelector,
} from '../queue/dlq.js';
import { parseSince, replaySince } from '../queue/replay-since.js';
import { parseDuration } from '../util/duration.js';
import type { RedisClient } from '../redis/client.js';
import { createRedisConnections } from '../redis/connections.js';
import { confirm, type PromptStreams } from './confirm.js';
import { loadConfigFor } from './load-config.js';
import { positiveInteger } from './arguments.js';
import { connectOrExplain } from './redis-reach.js';

interface TargetOptions {
  config?: string;
  target: string;
}

/** The options every `dlq` subcommand takes: the config, and whose dead letters. */
interface QueueOptions {
  config?: string;
  target?: string;
  outbound?: boolean;
}

/** Whose dead letters a `dlq` command works on: one target's failed deliveries, or the bot's failed sends. */
type DeadLetterScope = { readonly targetId: string } | { readonly outbound: true };

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

/** Opens a queue on the connection; the connection stays the caller's. */
type QueueOpener<Q> = (config: BridgeConfig, redis: RedisClient) => Q;

/**
 * The queues of one scope: a check of the loaded config (an unknown target is a usage error, found before Redis
 * is asked anything), and how to open each queue.
 */
interface ScopeQueues<Q> {
  readonly check: (config: BridgeConfig) => void;
  readonly open: readonly QueueOpener<Q>[];
}

/** A usage error naming the configured targets when `targetId` is not one of them. */
function assertTargetInConfig(config: BridgeConfig, targetId: string): void {
  if (config.targets.some((target) => target.id === targetId)) return;
  const known = config.targets.map((target) => target.id);
  throw usage(
    `unknown target ${JSON.stringify(targetId)} in ${config.source}; configured targets: ` +
      `${known.length > 0 ? known.join(', ') : '(none)'}`,
  );
}

const targetQueue = (targetId: string): ScopeQueues<DeliveryQueue> => ({
  check: (config) => assertTargetInConfig(config, targetId),
  open: [
    (config, redis) => openDeliveryQueue(config, targetId, redis),
    (config, redis) => openLegacyDeliveryQueue(config, targetId, redis),
  ],
});

const botOutboundQueue: ScopeQueues<OutboundDeadLetterQueue> = {
  check: () => undefined,
  open: [
    (config, redis) => openOutboundQueue(config.qq.appId, config.redis.prefix, redis),
    (config, redis) => openLegacyOutboundQueue(config.qq.appId, config.redis.prefix, redis),
  ],
};

/**
 * Checks the scope against the config, opens its queues, runs `fn` on them, and always closes the queues and the
 * connection. A scope has two queues: its own and, for an upgraded deployment, the same queue in the key layout
 * before per-queue hash tags, whose dead letters are listed, shown, replayed and purged alike
 * (queue/legacy-drain.ts works off what a replay puts back there).
 */
async function withQueues<Q extends { close(): Promise<void> }, T>(
  opts: { config?: string },
  scope: ScopeQueues<Q>,
  fn: (queues: Q[], redis: RedisClient) => Promise<T>,
): Promise<T> {
  const config = await loadConfigFor(opts);
  scope.check(config);
  const redis = createRedisConnections(config.redis).command();
  try {
    await connectOrExplain(redis, config.redis.connection, config.source);
    const queues = scope.open.map((opener) => opener(config, redis));
    try {
      return await fn(queues, redis);
    } finally {
      await Promise.all(queues.map((queue) => queue.close()));
    }
  } finally {
    redis.disconnect();
  }
}

/** `fn` on each queue in turn, the current layout's first. */
async function eachOf<Q, T>(queues: readonly Q[], fn: (queue: Q) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  for (const queue of queues) results.push(await fn(queue));
  return results;
}

const sum = (counts: readonly number[]): number => counts.reduce((total, count) => total + count, 0);

function usage(message: string): BridgeError {
  return new BridgeError('BRIDGE_ERR_USAGE', message);
}

/** Whose dead letters: exactly one of `--target ID` and `--outbound`, checked before anything is opened. */
function scopeOf(opts: QueueOptions): DeadLetterScope {
  if (opts.target !== undefined && opts.outbound) {
    throw usage(
      "give either --target ID (a target's failed deliveries) or --outbound (failed replies and sends to QQ), not both",
    );
  }
  if (opts.outbound) return { outbound: true };
  if (opts.target !== undefined) return { targetId: opts.target };
  throw usage(
    "say whose dead letters: --target ID (a target's failed deliveries) or --outbound (failed replies and sends to QQ)",
  );
}

/** The scope in a sentence: `target backend`, `the outbound queue`. */
function scopeName(scope: DeadLetterScope): string {
  return 'targetId' in scope ? `target ${scope.targetId}` : 'the outbound queue';
}

/** What `dlq list` suggests when an id is not found. */
function listCommand(scope: DeadLetterScope): string {
  return 'targetId' in scope ? 'dlq list' : 'dlq list --outbound';
}

/** What `--id` takes in the scope, for usage messages. */
function idName(scope: DeadLetterScope): string {
  return 'targetId' in scope ? 'EVENT_ID' : 'OUTBOUND_ID';
}

function selector(opts: { id?: string; all?: boolean }, scope: DeadLetterScope): ReplaySelector {
  if (opts.id && opts.all) throw usage('give either --id or --all, not both');
  // An outbound id is its job's id; a delivery job's id is made from the event id.
  if (opts.id) return 'targetId' in scope ? { eventId: opts.id } : { jobId: opts.id };
  if (opts.all) return { all: true };
  throw usage(`say which entries: --id ${idName(scope)} or --all`);
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
function purgeSelector(
  opts: { id?: string; all?: boolean; olderThan?: string },
  scope: DeadLetterScope,
): PurgeSelector {
  if (opts.olderThan === undefined && !opts.id && !opts.all) {
    throw usage(`say which entries: --id ${idName(scope)}, --all or --older-than DURATION`);
  }
  if (opts.olderThan === undefined) return selector(opts, scope);
  if (opts.id || opts.all) throw usage('--older-than cannot be combined with --id or --all');
  const age = parseDuration(opts.olderThan, 'd');
  if ('problem' in age) throw usage(`--older-than: ${JSON.stringify(opts.olderThan)} ${age.problem}`);
  return { failedUpToMs: Date.now() - age.ms };
}

/**
 * The confirmation question of `dlq purge`, naming how many dead letters go and whose.
 *
 * @param scope - `target backend`, `the outbound queue`
 */
export function purgeQuestion(
  count: number,
  scope: string,
  which: { id?: string; olderThan?: string },
): string {
  if (which.id !== undefined) return `delete dead letter ${which.id} of ${scope}? [y/N] `;
  const letters = count === 1 ? '1 dead letter' : `${count} dead letters`;
  const age = which.olderThan === undefined ? '' : ` older than ${which.olderThan}`;
  return `delete ${letters} of ${scope}${age}? [y/N] `;
}

/**
 * What a replay is for, in `dlq replay --help`: the same `webhook-id` goes out again, so a receiver that dedupes
 * (as the README advises) drops a delivery whose id it has recorded.
 */
const REPLAY_HELP = [
  '',
  'Same webhook-id: a replayed delivery carries the webhook-id it had before, so a',
  'receiver that dedupes on webhook-id (as it should) ignores it if it recorded',
  'that id. Replay is for:',
  '  - dead letters, once the receiver is fixed: they were never acknowledged',
  '    (no 2xx), so its dedupe store has not seen them, unless the receiver',
  '    recorded the id before it failed;',
  '  - a receiver that lost data: clear the lost ids from its dedupe store first;',
  '    `replay --target ID --since TIME` also re-sends delivered events.',
].join('\n');

/** One line of `dlq list --outbound`. */
function outboundLine(row: OutboundDeadLetterRow): string {
  const to =
    row.kind === 'message'
      ? `${row.scene}/${row.openid}`
      : row.kind === 'interaction'
        ? `interaction/${row.interactionId}`
        : 'unknown';
  const reason = `${row.error.code}: ${row.error.message}`;
  return `${row.failedAt}  ${row.id}  ${row.source}  ${to}  attempts=${row.attempts}  ${reason}`;
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
    .description(
      "inspect, replay and purge dead letters: a target's failed deliveries (--target ID) or the bot's " +
        'failed replies and sends to QQ (--outbound)',
    );
  const common = (cmd: Command): Command =>
    cmd
      .option('-c, --config <path>', 'config file (default: $QQWB_CONFIG or config/bridge.yaml)')
      .option('-t, --target <id>', 'target id from the config: its failed deliveries')
      .option(
        '--outbound',
        "instead of --target: the bot's outbound queue, replies and sends QQ refused or that ran out of attempts",
      );

  common(dlq.command('list'))
    .description(
      'one row per dead letter: event id, type, attempts, last status/error, failed at; with --outbound: ' +
        'outbound id, source (reply/api), scene/openid, attempts, failed reason',
    )
    .option('--json', 'print one JSON array on stdout and nothing else')
    .option('--limit <n>', 'at most this many rows', positiveInteger, 100)
    .addHelpText(
      'after',
      '\nExamples:\n  $ qq-webhook-bridge dlq list --target backend --json | jq .\n' +
        '  $ qq-webhook-bridge dlq list --outbound',
    )
    .action(async (opts: QueueOptions & { json?: boolean; limit: number }) => {
      const scope = scopeOf(opts);
      const lines =
        'targetId' in scope
          ? await withQueues(opts, targetQueue(scope.targetId), async (queues) => {
              const found = await eachOf(queues, (queue) => listDeadLetters(queue, { limit: opts.limit }));
              const rows = found.flat().slice(0, opts.limit);
              return {
                json: rows,
                text: rows.map((row) => {
                  const last =
                    row.lastStatus !== undefined ? `HTTP ${row.lastStatus}` : (row.lastError ?? '');
                  return `${row.failedAt}  ${row.eventId}  ${row.type}  attempts=${row.attempts}  ${last}`;
                }),
              };
            })
          : await withQueues(opts, botOutboundQueue, async (queues) => {
              const found = await eachOf(queues, (queue) =>
                listOutboundDeadLetters(queue, { limit: opts.limit }),
              );
              const rows = found.flat().slice(0, opts.limit);
              return { json: rows, text: rows.map(outboundLine) };
            });
      if (opts.json) write(JSON.stringify(lines.json));
      else if (lines.text.length === 0) write(`no dead letters for ${scopeName(scope)}`);
      else for (const line of lines.text) write(line);
      setExit(0);
    });

  common(dlq.command('show'))
    .description(
      'print the envelope and every attempt of one dead-lettered delivery; with --outbound, the request ' +
        'sent to QQ, the failed reason and every attempt of one outbound message',
    )
    .requiredOption('--id <id>', 'the event id (webhook-id); with --outbound, the outbound id (ob_…)')
    .action(async (opts: QueueOptions & { id: string }) => {
      const scope = scopeOf(opts);
      const detail =
        'targetId' in scope
          ? await withQueues(opts, targetQueue(scope.targetId), async (queues) =>
              (await eachOf(queues, (queue) => showDeadLetter(queue, opts.id))).find(Boolean),
            )
          : await withQueues(opts, botOutboundQueue, async (queues) =>
              (await eachOf(queues, (queue) => showOutboundDeadLetter(queue, opts.id))).find(Boolean),
            );
      if (!detail) {
        throw new BridgeError(
          'BRIDGE_ERR_NOT_FOUND',
          `no dead letter ${opts.id} for ${scopeName(scope)} (see ${listCommand(scope)})`,
        );
      }
      write(JSON.stringify(detail, null, 2));
      setExit(0);
    });

  common(dlq.command('replay'))
    .description(
      're-enqueue dead letters: deliveries with the same webhook-id; with --outbound, messages with the ' +
        'same outbound id and body (a passive reply past its window fails again with BRIDGE_ERR_REPLY_EXPIRED)',
    )
    .option('--id <id>', 'one event id; with --outbound, one outbound id')
    .option('--all', 'every dead letter of the target or of the outbound queue')
    .addHelpText('after', REPLAY_HELP)
    .addHelpText(
      'after',
      '\nExamples:\n  $ qq-webhook-bridge dlq replay --target backend --all\n' +
        '  $ qq-webhook-bridge dlq replay --target backend --id GROUP_ADD_ROBOT:…\n' +
        '  $ qq-webhook-bridge dlq replay --outbound --id ob_…',
    )
    .action(async (opts: QueueOptions & { id?: string; all?: boolean }) => {
      const scope = scopeOf(opts);
      const which = selector(opts, scope);
      const progress = progressPrinter(terminal.stderr);
      let count: number;
      if ('targetId' in scope) {
        count = await withQueues(opts, targetQueue(scope.targetId), async (queues) =>
          sum(await eachOf(queues, (queue) => replayDeadLetters(queue, which, progress))),
        );
      } else {
        const results = await withQueues(opts, botOutboundQueue, (queues) =>
          eachOf(queues, (queue) => replayOutboundDeadLetters(queue, which, progress)),
        );
        count = sum(results.map((result) => result.replayed));
        for (const { id, deadline } of results.flatMap((result) => result.expired)) {
          terminal.stderr.write(
            `warning: ${id} is a passive reply whose window closed at ${deadline}; replayed as asked, it will ` +
              'fail again with BRIDGE_ERR_REPLY_EXPIRED (send an active message through the API instead)\n',
          );
        }
      }
      if (!('all' in which) && count === 0) {
        throw new BridgeError(
          'BRIDGE_ERR_NOT_FOUND',
          `no dead letter ${opts.id ?? ''} for ${scopeName(scope)}`,
        );
      }
      write(`replayed ${count} for ${scopeName(scope)}`);
      setExit(0);
    });

  common(dlq.command('purge'))
    .description('delete dead letters for good; asks first, with how many, unless --yes')
    .option('--id <id>', 'one event id; with --outbound, one outbound id')
    .option('--all', 'every dead letter of the target or of the outbound queue')
    .option(
      '--older-than <duration>',
      'those that failed longer ago than this: 12h, 7d (units ms, s, m, h, d)',
    )
    .option('--yes', 'do not ask; needed when stdin is not a terminal (scripts, cron)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ qq-webhook-bridge dlq purge --target backend --older-than 7d\n' +
        '  $ qq-webhook-bridge dlq purge --target backend --all --yes\n' +
        '  $ qq-webhook-bridge dlq purge --outbound --older-than 1d',
    )
    .action(
      async (opts: QueueOptions & { id?: string; all?: boolean; olderThan?: string; yes?: boolean }) => {
        const scope = scopeOf(opts);
        const which = purgeSelector(opts, scope);
        if (!opts.yes && !terminal.interactive) {
          throw usage(
            'dlq purge deletes for good and asks first, but stdin is not a terminal; add --yes to purge without asking',
          );
        }
        // One question for both layouts' dead letters, with their total.
        const purge = async <T>(queues: Queue<T>[], redis: RedisClient): Promise<number> => {
          if (!opts.yes) {
            const found = sum(await eachOf(queues, (queue) => countDeadLetters(queue, redis, which)));
            if (found === 0) return 0;
            if (!(await confirm(purgeQuestion(found, scopeName(scope), opts), prompt))) {
              throw new BridgeError('BRIDGE_ERR_ABORTED', 'not confirmed; nothing was deleted');
            }
          }
          return sum(await eachOf(queues, (queue) => purgeDeadLetters(queue, which)));
        };
        const count =
          'targetId' in scope
            ? await withQueues(opts, targetQueue(scope.targetId), purge)
            : await withQueues(opts, botOutboundQueue, purge);
        write(`purged ${count} for ${scopeName(scope)}`);
        setExit(0);
      },
    );

  const withTarget = (cmd: Command): Command =>
    cmd
      .option('-c, --config <path>', 'config file (default: $QQWB_CONFIG or config/bridge.yaml)')
      .requiredOption('-t, --target <id>', 'target id from the config');

  withTarget(program.command('replay'))
    .description(
      'deliver again everything a target finished since a time (delivered or dead-lettered), same webhook-id',
    )
    .requiredOption('--since <time>', 'a duration back from now (2h, 30m, 7d) or an ISO 8601 time')
    .addHelpText(
      'after',
      '\nSame webhook-id as before: a receiver that dedupes on webhook-id ignores the events whose id it\n' +
        'recorded, so clear the ids it lost from its dedupe store first.\n' +
        'Delivered events are kept for an hour (at most 1000 per target); dead letters for\n' +
        'delivery.dead_letter.max_age (default 7d, at most max_count per target) or until purged.\n' +
        'Example:\n  $ qq-webhook-bridge replay --target backend --since 30m',
    )
    .action(async (opts: TargetOptions & { since: string }) => {
      const since = parseSince(opts.since, Date.now());
      if ('problem' in since) throw usage(`--since: ${JSON.stringify(opts.since)} ${since.problem}`);
      const count = await withQueues(opts, targetQueue(opts.target), async (queues) =>
        sum(
          await eachOf(queues, (queue) =>
            replaySince(queue, since.sinceMs, progressPrinter(terminal.stderr)),
          ),
        ),
      );
      write(`replayed ${count} for target ${opts.target} since ${new Date(since.sinceMs).toISOString()}`);
      setExit(0);
    });
}
