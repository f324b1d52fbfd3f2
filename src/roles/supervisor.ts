import { describeError } from '../errors.js';
import type { Logger } from '../log.js';

/**
 * One piece of a running bridge (the Redis connection, the journal, the HTTP server, the workers, the gateway).
 * `start` may be missing for a resource that exists from the start and only needs releasing; `stop` must release
 * whatever `start` got to, including after a start that failed or was aborted half-way.
 */
export interface Part {
  readonly name: string;
  start?(signal: AbortSignal | undefined): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Releases what a part started, newest first. Every stop runs even when an earlier one throws (that one is logged),
 * so a failing close cannot leave a worker or a socket behind.
 */
export class StopStack {
  private readonly stops: (() => Promise<void> | void)[] = [];

  constructor(
    private readonly logger: Logger,
    private readonly part: string,
  ) {}

  push(stop: () => Promise<void> | void): void {
    this.stops.push(stop);
  }

  async run(): Promise<void> {
    for (const stop of this.stops.reverse()) {
      try {
        await stop();
      } catch (err) {
        this.logger.warn(
          { err: describeError(err), part: this.part },
          'error during shutdown: continuing with the rest of the shutdown',
        );
      }
    }
    this.stops.length = 0;
  }
}

/** A part whose start registers each thing it starts on its own stop stack as it goes. */
export function stagedPart(
  name: string,
  logger: Logger,
  start: (stops: StopStack, signal: AbortSignal | undefined) => Promise<void> | void,
): Part {
  const stops = new StopStack(logger, name);
  return {
    name,
    start: async (signal) => {
      await start(stops, signal);
    },
    stop: () => stops.run(),
  };
}

/**
 * Starts parts one after the other and stops the started ones in reverse order. A part counts as started as soon as
 * its start begins, so a start interrupted while it waits (for Redis, for QQ) is still stopped.
 */
export class Supervisor {
  private readonly started: StopStack;

  constructor(logger: Logger) {
    this.started = new StopStack(logger, 'bridge');
  }

  async start(parts: readonly Part[], signal: AbortSignal | undefined): Promise<void> {
    for (const part of parts) {
      this.started.push(() => part.stop());
      await part.start?.(signal);
    }
  }

  stop(): Promise<void> {
    return this.started.run();
  }
}
