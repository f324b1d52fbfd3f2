#!/usr/bin/env node
import { Command, CommanderError, Option } from 'commander';
import type { Role } from './roles/role.js';
import { runDemo } from './commands/demo.js';
import { nonNegativeInteger } from './commands/arguments.js';
import { runBridge } from './commands/run.js';
import { parseWebhookUrl, runSimulator } from './commands/simulate.js';
import { summarizeConfig } from './commands/config-check.js';
import { registerDlqCommands } from './commands/dlq.js';
import { loadConfigFor } from './commands/load-config.js';
import { ConfigError, formatConfigError } from './config/index.js';
import { BridgeError, describeError, isBridgeError } from './errors.js';
import { createLogger, flushLogger, LOG_FORMATS, type LogFormat, type Logger } from './log.js';
import { limitHeapGrowth } from './util/heap-growth.js';
import { keepWasmBaseline } from './util/wasm-tier.js';
import { VERSION } from './version.js';

/** Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error. */
const EXIT_RUNTIME = 1;
const EXIT_USAGE = 2;

/**
 * The logger of `run`, once it exists: from then on every line the process writes, its fatal errors included, is a
 * log record in the configured format. Before it (a usage or config error) errors are plain text on stderr.
 */
let runLogger: Logger | undefined;

function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command('qq-webhook-bridge')
    .description('Holds a QQ bot gateway session and delivers every event as a signed HTTP webhook.')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  program
    .command('run')
    .description('run the bridge (gateway, delivery workers, or both)')
    .option('-c, --config <path>', 'config file (default: $QQWB_CONFIG or config/bridge.yaml)')
    .addOption(
      new Option('-r, --role <role>', 'which part to run')
        .choices(['all', 'gateway', 'worker'])
        .default('all'),
    )
    .option('--log-level <level>', 'override log.level')
    .addOption(new Option('--log-format <format>', 'override log.format').choices(LOG_FORMATS))
    .addHelpText(
      'after',
      '\nExamples:\n  $ qq-webhook-bridge run --config config/bridge.yaml\n  $ qq-webhook-bridge run --role worker',
    )
    .action(async (opts: { config?: string; role: Role; logLevel?: string; logFormat?: LogFormat }) => {
      const config = await loadConfigFor(opts);
      const logger = createLogger({
        level: opts.logLevel ?? config.log.level,
        format: opts.logFormat ?? config.log.format,
      });
      runLogger = logger;
      logCrashes(logger);
      const heap = limitHeapGrowth();
      logger.info(
        heap.applied
          ? `V8 heap growth limited to ${heap.percent}% per full GC (NODE_OPTIONS=--heap-growing-percent=N overrides)`
          : 'V8 heap growth left as the node command line sets it',
      );
      // Before the first HTTP request: V8 reads it when undici's parser is compiled.
      const wasm = keepWasmBaseline();
      logger.info(
        wasm.applied
          ? `WebAssembly kept on V8's baseline compiler (${wasm.flag}: no optimizing recompile of the HTTP parser, ~34 MB less peak RSS; NODE_OPTIONS=--no-liftoff-only overrides)`
          : 'WebAssembly compilation left as the node command line sets it',
      );
      setExit(await runBridge(config, opts.role, logger));
    });

  program
    .command('simulate')
    .description(
      "run the project's QQ stand-in: token endpoint, /gateway, /gateway/bot and the WebSocket gateway",
    )
    .option('-p, --port <n>', 'port to listen on', nonNegativeInteger, 8080)
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--app-id <id>', 'bot app id it accepts', '102000000')
    .option('--client-secret <secret>', 'client secret it accepts', 'simulator-secret')
    .option('--heartbeat-interval <ms>', 'heartbeat_interval sent in Hello', nonNegativeInteger, 45_000)
    .option(
      '--webhook-url <url>',
      'webhook mode: validate this bridge callback URL with op 13, then deliver each /_sim/emit event to it as a callback signed with the client secret, not over the WebSocket',
      parseWebhookUrl,
    )
    .addHelpText(
      'after',
      '\nExamples:\n  $ qq-webhook-bridge simulate --port 8080\n' +
        '  $ curl -XPOST localhost:8080/_sim/emit -d \'{"t":"GROUP_ADD_ROBOT","d":{"group_openid":"G","op_member_openid":"M","timestamp":1699240248}}\'\n' +
        '  $ qq-webhook-bridge simulate --port 8080 --webhook-url http://127.0.0.1:9464/qq/callback',
    )
    .action(
      async (opts: {
        port: number;
        host: string;
        appId: string;
        clientSecret: string;
        heartbeatInterval: number;
        webhookUrl?: string;
      }) => {
        const logger = createLogger({ level: 'info' });
        setExit(
          await runSimulator(
            {
              port: opts.port,
              host: opts.host,
              appId: opts.appId,
              clientSecret: opts.clientSecret,
              heartbeatIntervalMs: opts.heartbeatInterval,
              ...(opts.webhookUrl !== undefined && { webhookUrl: opts.webhookUrl }),
            },
            logger,
          ),
        );
      },
    );

  program
    .command('demo')
    .description(
      'show the whole flow on this machine: the QQ simulator, the bridge and a sample receiver that verifies ' +
        'each signature and prints each event (Redis: $REDIS_URL, else 127.0.0.1:6379, else a redis-server it starts)',
    )
    .option('--once', 'emit the sample events, wait for every delivery, print a summary and exit')
    .option('--timeout <seconds>', 'with --once: how long to wait for the deliveries', nonNegativeInteger, 30)
    .addHelpText('after', '\nExamples:\n  $ qq-webhook-bridge demo --once\n  $ qq-webhook-bridge demo')
    .action(async (opts: { once?: boolean; timeout: number }) => {
      setExit(
        await runDemo({
          once: opts.once === true,
          timeoutMs: opts.timeout * 1000,
          redisUrl: process.env['REDIS_URL'],
          print: (line) => process.stdout.write(`${line}\n`),
        }),
      );
    });

  const config = program.command('config').description('work with the configuration file');
  config
    .command('check')
    .description(
      'validate a config file and print a summary: mode (intents and shards, or the callback route), targets and their filters, warnings',
    )
    .option('-c, --config <path>', 'config file (default: $QQWB_CONFIG or config/bridge.yaml)')
    .addHelpText('after', '\nExample:\n  $ qq-webhook-bridge config check --config config/bridge.yaml')
    .action(async (opts: { config?: string }) => {
      const loaded = await loadConfigFor(opts);
      process.stdout.write(`${summarizeConfig(loaded)}\n`);
      setExit(0);
    });

  registerDlqCommands(program, setExit);
  return program;
}

async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const program = buildProgram((code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version are "errors" to commander; their exit code is 0
      return err.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`${formatConfigError(err)}\n`);
      return EXIT_USAGE;
    }
    const usage = err instanceof BridgeError && err.code === 'BRIDGE_ERR_USAGE';
    reportError(err, usage);
    return usage ? EXIT_USAGE : EXIT_RUNTIME;
  }
}

/** Through `run`'s logger once it exists (see {@link runLogger}), else as a plain line on stderr. */
function reportError(err: unknown, usage: boolean): void {
  const message = describeError(err);
  if (!runLogger) {
    process.stderr.write(`error: ${message}\n`);
    return;
  }
  const fields = isBridgeError(err) ? { code: err.code } : {};
  if (usage) runLogger.error(fields, message);
  else runLogger.fatal(fields, message);
}

/**
 * An exception nothing caught (a bug) still ends the process with exit code 1, as Node's default does, but as a
 * fatal log record with its stack rather than a plain trace in the middle of the log stream.
 */
function logCrashes(logger: Logger): void {
  const crash = (what: string) => (err: unknown) => {
    logger.fatal(
      { err: describeError(err), stack: err instanceof Error ? err.stack : undefined },
      `${what}: exiting (a bug; please report it with this line)`,
    );
    void exit(EXIT_RUNTIME);
  };
  process.once('uncaughtException', crash('uncaught exception'));
  process.once('unhandledRejection', crash('unhandled promise rejection'));
}

/** Exits with `code` once the last log lines are written. */
async function exit(code: number): Promise<never> {
  if (runLogger) await flushLogger(runLogger);
  process.exit(code);
}

void main(process.argv).then(
  (code) => exit(code),
  (err: unknown) => {
    // Not expected (main catches everything): still one record in the configured format, not a stray line.
    if (runLogger) runLogger.fatal({ err: describeError(err) }, 'unexpected error: exiting');
    else process.stderr.write(`fatal: ${describeError(err)}\n`);
    return exit(EXIT_RUNTIME);
  },
);
