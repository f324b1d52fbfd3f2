import { loadConfig, resolveConfigPath } from '../config/index.js';
import type { BridgeConfig } from '../config/types.js';

/** Loads the config named by `--config`, else `QQWB_CONFIG`, else config/bridge.yaml. */
export async function loadConfigFor(options: { config?: string }): Promise<BridgeConfig> {
  return loadConfig(resolveConfigPath(options.config, process.env));
}
