import type { z } from 'zod';
import type { ConfigIssue } from './config-error.js';
import { knownKeysAt } from './schema-keys.js';
import { didYouMean } from './suggest.js';
import { locate, type PathSegment, type YamlSource } from './yaml-source.js';

/** An issue known by its data path, before it is given a position and its found value. */
export interface PendingIssue {
  readonly path: readonly PathSegment[];
  readonly message: string;
  /** Point at the mapping key (unknown keys, bad header names) or at the value. */
  readonly at: 'key' | 'value';
  /**
   * A complete sentence. Otherwise the message follows the schema's convention: `{found}` is replaced by the
   * value found, or `; found <value>` is appended to a message starting with `expected`.
   */
  readonly complete: boolean;
}

function toPath(path: readonly PropertyKey[]): PathSegment[] {
  return path.map((segment) => (typeof segment === 'number' ? segment : String(segment)));
}

/** Whether a union branch failed because the value has another type altogether (rather than a bad value). */
function isTypeMismatch(issues: readonly z.core.$ZodIssue[]): boolean {
  return issues.some(
    (issue) => issue.path.length === 0 && (issue.code === 'invalid_type' || issue.code === 'invalid_value'),
  );
}

/**
 * Turns zod issues into pending ones: a union's issues are those of the one form the value evidently meant (a
 * mapping under `shards` gets the mapping form's messages), an unknown key becomes one issue per key with a
 * suggestion, a bad record key points at the key.
 */
export function pendingFromZod(
  issues: readonly z.core.$ZodIssue[],
  schema: z.ZodType,
  base: readonly PathSegment[] = [],
): PendingIssue[] {
  return issues.flatMap((issue): PendingIssue[] => {
    const path = [...base, ...toPath(issue.path)];
    switch (issue.code) {
      case 'invalid_union': {
        const meant = issue.errors.filter((branch) => !isTypeMismatch(branch));
        const [only] = meant;
        if (meant.length === 1 && only !== undefined) return pendingFromZod(only, schema, path);
        return [{ path, message: issue.message, at: 'value', complete: false }];
      }
      case 'unrecognized_keys': {
        const known = knownKeysAt(schema, path);
        return issue.keys.map((key) => {
          const guess = didYouMean(key, known);
          const hint =
            guess !== '' ? guess : known.length > 0 ? `; expected one of: ${known.join(', ')}` : '';
          return {
            path: [...path, key],
            message: `unknown key ${JSON.stringify(key)}${hint}`,
            at: 'key',
            complete: true,
          };
        });
      }
      case 'invalid_key':
        return issue.issues.map((inner) => ({ path, message: inner.message, at: 'key', complete: false }));
      case 'custom':
        return [
          {
            path,
            message: issue.message,
            at: issue.params?.['at'] === 'key' ? 'key' : 'value',
            complete: false,
          },
        ];
      default:
        return [{ path, message: issue.message, at: 'value', complete: false }];
    }
  });
}

/** `targets[0].headers.X-Env`; keys that are not plain words are quoted: `headers["X Y"]`. */
export function formatPath(path: readonly PathSegment[]): string {
  return path
    .map((segment, index) => {
      if (typeof segment === 'number') return `[${segment}]`;
      if (/^[A-Za-z0-9_-]+$/.test(segment)) return index === 0 ? segment : `.${segment}`;
      return `[${JSON.stringify(segment)}]`;
    })
    .join('');
}

function valueAt(data: unknown, path: readonly PathSegment[]): unknown {
  let current = data;
  for (const segment of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<PathSegment, unknown>)[segment];
  }
  return current;
}

const SECRET_SETTINGS = new Set(['client_secret', 'admin_token', 'secret', 'password', 'sentinel_password']);

/** Settings whose values are credentials: never shown, whatever their type. */
function isSecretPath(path: readonly PathSegment[], at: 'key' | 'value'): boolean {
  if (path.some((segment) => typeof segment === 'string' && SECRET_SETTINGS.has(segment))) {
    return true;
  }
  // Header values often carry credentials (Authorization: Bearer …); header names do not.
  const headers = path.indexOf('headers');
  return headers !== -1 && path.length > headers + 1 && at === 'value';
}

const MAX_SHOWN = 60;

/** What the user wrote, for a message: quoted and shortened, credentials in URLs removed. */
function describeFound(value: unknown, redact: boolean): string {
  if (value === undefined) return 'nothing (the key is missing)';
  if (value === null) return 'an empty value';
  if (value === '') return 'an empty string';
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (redact) return '[redacted]';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value !== 'string') return typeof value;
  const shown = value.replace(/\/\/[^/@\s]*@/g, '//[redacted]@');
  return JSON.stringify(shown.length > MAX_SHOWN ? `${shown.slice(0, MAX_SHOWN - 1)}…` : shown);
}

/**
 * Replaces every occurrence of a sensitive value, in case a message quotes one (an intent name, a header name)
 * that was written in the wrong place. Values under 8 characters are left: they would mangle ordinary words and
 * are no secret worth the name.
 */
function scrub(message: string, sensitiveValues: readonly string[]): string {
  return sensitiveValues
    .filter((value) => value.length >= 8)
    .reduce((text, value) => text.replaceAll(value, '[redacted]'), message);
}

/** What {@link locateIssues} needs to know about the file. */
export interface IssueContext {
  /** The file name shown in messages. */
  readonly file: string;
  readonly source: YamlSource;
  /** The data that was validated, to show what was found. */
  readonly data: unknown;
  /** Values never to be shown (from credential-named environment variables, secret settings). */
  readonly sensitiveValues: readonly string[];
}

/** Gives each pending issue its position and found value, redacts secrets, and sorts them in file order. */
export function locateIssues(pending: readonly PendingIssue[], context: IssueContext): ConfigIssue[] {
  const issues = pending.map((issue): ConfigIssue => {
    const { line, column } = locate(context.source, issue.path, issue.at);
    let message = issue.message;
    if (!issue.complete) {
      const value = issue.at === 'key' ? issue.path.at(-1) : valueAt(context.data, issue.path);
      const sensitive =
        typeof value === 'string' &&
        context.sensitiveValues.some((secret) => secret !== '' && value.includes(secret));
      const found = describeFound(value, sensitive || isSecretPath(issue.path, issue.at));
      if (message.includes('{found}')) message = message.replace('{found}', () => found);
      else if (message.startsWith('expected')) message = `${message}; found ${found}`;
    }
    return {
      file: context.file,
      line,
      column,
      path: formatPath(issue.path),
      message: scrub(message, context.sensitiveValues),
    };
  });
  // Two checks of one value can fail alike (a union's forms); say it once.
  const unique = [...new Map(issues.map((issue) => [`${issue.path}\n${issue.message}`, issue])).values()];
  return unique.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}
