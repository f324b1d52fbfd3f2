import { readFile } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeError } from '../errors.js';
import { ConfigError } from './config-error.js';
import { deepFreeze } from './deep-freeze.js';
import { interpolateDocument } from './interpolate-document.js';
import { locateIssues, pendingFromZod } from './located-issues.js';
import { placeholderIssues } from './placeholders.js';
import { configSchema } from './schema.js';
import { toBridgeConfig } from './to-bridge-config.js';
import type { BridgeConfig } from './types.js';
import { parseYaml, type PathSegment } from './yaml-source.js';

/** Where the configuration is read from when neither `--config` nor `QQWB_CONFIG` says otherwise. */
export const DEFAULT_CONFIG_PATH = 'config/bridge.yaml';

/** The annotated example shipped with the package (two levels up from src/config and dist/config alike). */
const EXAMPLE_PATH = fileURLToPath(new URL('../../config/bridge.example.yaml', import.meta.url));

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The configuration file to use: `--config PATH` if given, else `QQWB_CONFIG`, else {@link DEFAULT_CONFIG_PATH}.
 * Returned as written (relative paths stay relative) so messages name the file the way the user did.
 */
export function resolveConfigPath(cliPath: string | undefined, env: Env): string {
  if (cliPath !== undefined && cliPath !== '') return cliPath;
  const fromEnv = env['QQWB_CONFIG'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  return DEFAULT_CONFIG_PATH;
}

function isUnder(path: readonly PathSegment[], prefix: readonly PathSegment[]): boolean {
  return prefix.length <= path.length && prefix.every((segment, index) => path[index] === segment);
}

/** Secret settings written literally in the file, kept out of messages like those from the environment. */
function literalSecrets(data: unknown): string[] {
  if (typeof data !== 'object' || data === null) return [];
  const file = data as {
    qq?: { client_secret?: unknown };
    server?: { admin_token?: unknown };
    redis?: {
      cluster?: { password?: unknown };
      sentinel?: { password?: unknown; sentinel_password?: unknown };
    };
    targets?: unknown;
  };
  const redis = typeof file.redis === 'object' && file.redis !== null ? file.redis : {};
  const values: unknown[] = [
    file.qq?.client_secret,
    file.server?.admin_token,
    redis.cluster?.password,
    redis.sentinel?.password,
    redis.sentinel?.sentinel_password,
  ];
  if (Array.isArray(file.targets)) {
    for (const target of file.targets as unknown[]) {
      const secret =
        typeof target === 'object' && target !== null ? (target as { secret?: unknown }).secret : undefined;
      values.push(...(Array.isArray(secret) ? (secret as unknown[]) : [secret]));
    }
  }
  return values.filter((value): value is string => typeof value === 'string' && value !== '');
}

function parseLocated(text: string, file: string, source: string, env: Env): BridgeConfig {
  const { source: yaml, problems } = parseYaml(text);
  if (problems.length > 0) {
    throw new ConfigError(
      problems.map(({ line, column, message }) => ({ file, line, column, path: '', message })),
    );
  }
  const interpolation = interpolateDocument(yaml, env);
  const data: unknown = yaml.doc.toJS({ maxAliasCount: 100 });
  if (data === null || data === undefined) {
    const message =
      'the file is empty; expected at least a qq: section with app_id and client_secret (start from ' +
      'config/bridge.example.yaml)';
    throw new ConfigError([{ file, line: 1, column: 1, path: '', message }]);
  }

  const result = configSchema.safeParse(data);
  // A value whose ${VAR} could not be substituted is already reported; what the schema makes of the remains would
  // only repeat the cause.
  const schemaIssues = result.success
    ? []
    : pendingFromZod(result.error.issues, configSchema).filter(
        (issue) => !interpolation.failedPaths.some((failed) => isUnder(issue.path, failed)),
      );
  const pending = [...interpolation.issues, ...schemaIssues, ...placeholderIssues(data)];
  if (!result.success || pending.length > 0) {
    const sensitiveValues = [...interpolation.sensitiveValues, ...literalSecrets(data)];
    throw new ConfigError(locateIssues(pending, { file, source: yaml, data, sensitiveValues }));
  }
  return deepFreeze(toBridgeConfig(result.data, source));
}

/** Runs `parse`, turning anything but a ConfigError into one: bad input never ends in a stack trace. */
function asConfigError<T>(file: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    // Resource limits of the YAML parser (alias bombs) end up here, as do bugs; neither may crash the CLI.
    throw new ConfigError(
      [{ file, path: '', message: `could not read the configuration: ${describeError(err)}` }],
      {
        cause: err,
      },
    );
  }
}

/**
 * Parses and validates a configuration from its text. `source` names the file in messages and becomes
 * {@link BridgeConfig.source}; `env` supplies `${VAR}` values (pass `process.env` explicitly — this function
 * reads no ambient state).
 *
 * @returns the configuration with defaults filled in, deeply frozen.
 * @throws {ConfigError} listing every issue at once: YAML syntax, missing variables, schema violations.
 */
export function parseConfig(text: string, source: string, env: Env): BridgeConfig {
  return asConfigError(source, () => parseLocated(text, source, source, env));
}

function displayPath(path: string): string {
  const fromCwd = relative(process.cwd(), path);
  return fromCwd !== '' && !fromCwd.startsWith('..') && !isAbsolute(fromCwd) ? fromCwd : path;
}

function readFailure(path: string, err: unknown): ConfigError {
  const code = (err as { code?: unknown }).code;
  const message =
    code === 'ENOENT'
      ? `config file not found; create one from the example: cp ${displayPath(EXAMPLE_PATH)} ${path}, then edit ` +
        'it (or point --config / QQWB_CONFIG at another file)'
      : code === 'EISDIR'
        ? 'expected a file, found a directory; point --config / QQWB_CONFIG at the YAML file'
        : `cannot read the config file: ${describeError(err)}`;
  return new ConfigError([{ file: path, path: '', message }], { cause: err });
}

/**
 * Reads, parses and validates the configuration file at `path` (relative to the working directory).
 * `env` defaults to `process.env`; this is the only place the config module reads it.
 *
 * @throws {ConfigError} when the file is missing or unreadable, or for every issue {@link parseConfig} finds.
 */
export async function loadConfig(path: string, env: Env = process.env): Promise<BridgeConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw readFailure(path, err);
  }
  return asConfigError(path, () => parseLocated(text, path, resolve(path), env));
}
