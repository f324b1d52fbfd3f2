/**
 * The configuration module: load a YAML file into a validated, frozen {@link BridgeConfig}.
 *
 * @packageDocumentation
 */
export { ConfigError, formatConfigError, type ConfigIssue } from './config-error.js';
export { DEFAULT_CONFIG_PATH, loadConfig, parseConfig, resolveConfigPath } from './load.js';
export type * from './types.js';
