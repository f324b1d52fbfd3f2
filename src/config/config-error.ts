import { BridgeError } from '../errors.js';

/** One problem found in a configuration file, located so that an editor can jump to it. */
export interface ConfigIssue {
  /** The file as the user named it (`config/bridge.yaml`). */
  readonly file: string;
  /** 1-based line of the offending key or value, when known. */
  readonly line?: number;
  /** 1-based column, when known. */
  readonly column?: number;
  /** YAML path of the offending setting, like `targets[0].timeout`; empty for the file as a whole. */
  readonly path: string;
  /** What was expected, what was found, how to fix it. One line; never contains a secret. */
  readonly message: string;
}

/**
 * A configuration that cannot be used. Carries every issue found, so the user fixes them in one round; callers
 * match on `code` (`BRIDGE_ERR_CONFIG`) and print {@link formatConfigError}.
 */
export class ConfigError extends BridgeError {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], options?: { cause?: unknown }) {
    super('BRIDGE_ERR_CONFIG', formatIssues(issues), options);
    this.name = 'ConfigError';
    this.issues = Object.freeze(issues.map((issue) => Object.freeze({ ...issue })));
  }
}

/** `file:line:column` when the position is known, else `file`. */
function formatLocation(issue: ConfigIssue): string {
  if (issue.line === undefined) return issue.file;
  return issue.column === undefined
    ? `${issue.file}:${issue.line}`
    : `${issue.file}:${issue.line}:${issue.column}`;
}

function formatIssues(issues: readonly ConfigIssue[]): string {
  return issues
    .map((issue) => `${formatLocation(issue)} ${issue.path === '' ? '' : `${issue.path}: `}${issue.message}`)
    .join('\n');
}

/**
 * The issues of `err`, one per line, in the `file:line:column path: message` form compilers use (so terminals
 * and editors make them clickable), e.g.
 * `config/bridge.yaml:12:5 targets[0].timeout: expected a duration like 500ms, 10s, 5m, 1h; found "10 seconds"`.
 */
export function formatConfigError(err: ConfigError): string {
  return formatIssues(err.issues);
}
