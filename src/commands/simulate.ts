import { startSimulator } from '../simulator/index.js';
import type { Logger } from '../log.js';

export interface SimulateOptions {
  port: number;
  host: string;
  appId: string;
  clientSecret: string;
  heartbeatIntervalMs: number;
}

/** Runs the QQ stand-in in the foreground until SIGINT/SIGTERM; resolves with the exit code. */
export async function runSimulator(options: SimulateOptions, logger: Logger): Promise<number> {
  const sim = await startSimulator({ ...options, logger });
  logger.info(
    {
      origin: sim.origin,
      websocket: sim.wsUrl,
      appId: options.appId,
      tokenUrl: `${sim.origin}/app/getAppAccessToken`,
    },
    'QQ simulator listening: point qq.token_url and qq.api_base at it; emit events with POST /_sim/emit',
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await sim.close();
  return 0;
}
