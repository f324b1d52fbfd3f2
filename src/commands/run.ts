import { createApp } from '../app.js';
import type { Role } from '../roles/role.js';
import type { BridgeConfig } from '../config/types.js';
import { isBridgeError } from '../errors.js';
import type { Logger } from '../log.js';

/**
 * Runs the bridge until SIGTERM/SIGINT. The first signal stops taking frames, persists sessions and lets
 * in-flight deliveries finish (bounded by delivery.shutdown_grace); a second signal forces exit. A signal that
 * arrives while the start still waits (for Redis, for QQ) abandons the start and exits cleanly too: the handlers
 * are installed before anything starts. Resolves with the process exit code: 0 after a signal, 1 after a fatal
 * gateway close or a lost journal lock, which also end a start still under way.
 */
export async function runBridge(config: BridgeConfig, role: Role, logger: Logger): Promise<number> {
  let fatal: string | undefined;
  let wake: (() => void) | undefined;
  const shutdown = new AbortController();
  const stopped = new Promise<void>((resolve) => {
    wake = resolve;
  });
  const app = createApp({
    config,
    role,
    logger,
    onFatal: (message) => {
      fatal = message;
      wake?.();
      // Also during a start still waiting (for Redis, for QQ): a fatal condition ends it rather than waiting on.
      shutdown.abort();
    },
  });
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal: exiting without waiting');
      process.exitCode = 1;
      // A second signal must end the process even if shutdown is stuck.
      setImmediate(() => process.kill(process.pid, 'SIGKILL'));
      return;
    }
    logger.info({ signal }, 'shutting down');
    shutdown.abort();
    wake?.();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    await app.start(shutdown.signal);
    await stopped;
  } catch (err) {
    if (!shutdown.signal.aborted || !isBridgeError(err, 'BRIDGE_ERR_ABORTED')) throw err;
    logger.info(`${fatal ? 'fatal error' : 'shutdown signal'} during start: ${err.message}`);
  } finally {
    await app.stop();
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
  if (fatal) {
    logger.fatal(fatal);
    return 1;
  }
  logger.info('stopped cleanly');
  return 0;
}
