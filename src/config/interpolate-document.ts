import { isMap, isScalar, isSeq } from 'yaml';
import { interpolate, isSensitiveVariable } from './interpolate.js';
import type { PendingIssue } from './located-issues.js';
import type { PathSegment, YamlSource } from './yaml-source.js';
import { keyText } from './yaml-source.js';

/** What substituting `${VAR}` across a document found out. */
export interface DocumentInterpolation {
  /** Missing variables and malformed references, located by path. */
  readonly issues: readonly PendingIssue[];
  /** Values left unusable by those issues; schema issues at or below them would only repeat the cause. */
  readonly failedPaths: readonly (readonly PathSegment[])[];
  /** Values that came from credential-named variables, to be kept out of every message. */
  readonly sensitiveValues: readonly string[];
}

const INTEGER = /^[-+]?\d+$/;
const FLOAT = /^[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?$/;

/**
 * The value an unquoted YAML scalar would have had if the substituted text had been written there: a number or
 * boolean when it reads as one (so `concurrency: ${CONCURRENCY:-8}` is a number), else the string. Integers too
 * large to be exact stay strings. Never null: `${EMPTY}` is an empty string, not a missing value.
 */
function retype(text: string): string | number | boolean {
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (INTEGER.test(text)) return Number.isSafeInteger(Number(text)) ? Number(text) : text;
  if (FLOAT.test(text)) return Number(text);
  return text;
}

/**
 * Replaces `${VAR}` / `${VAR:-default}` in every string value of the document, in place. Working on parsed
 * scalars rather than raw text means a substituted `#` or quote cannot change the YAML structure. Quoted scalars
 * stay strings; plain ones are re-typed (see {@link retype}). Mapping keys are not interpolated.
 */
export function interpolateDocument(
  source: YamlSource,
  env: Readonly<Record<string, string | undefined>>,
): DocumentInterpolation {
  const issues: PendingIssue[] = [];
  const failedPaths: PathSegment[][] = [];
  const sensitiveValues = new Set<string>();

  const visit = (node: unknown, path: PathSegment[]): void => {
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = keyText(pair.key);
        if (key !== undefined) visit(pair.value, [...path, key]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, index) => visit(item, [...path, index]));
    } else if (isScalar(node) && typeof node.value === 'string' && node.value.includes('$')) {
      const result = interpolate(node.value, env);
      for (const name of result.missing) {
        issues.push({
          path,
          at: 'value',
          complete: true,
          message:
            `environment variable ${name} is not set; set ${name} in the environment or give a default: ` +
            `\${${name}:-…}`,
        });
      }
      for (const message of result.errors) issues.push({ path, at: 'value', complete: true, message });
      if (result.missing.length > 0 || result.errors.length > 0) failedPaths.push(path);
      if (result.variables.some(isSensitiveVariable)) {
        for (const name of result.variables.filter(isSensitiveVariable)) {
          const value = env[name];
          if (value !== undefined && value !== '') sensitiveValues.add(value);
        }
        if (result.value !== '') sensitiveValues.add(result.value);
      }
      node.value = node.type === 'PLAIN' && result.substituted ? retype(result.value) : result.value;
    }
  };
  visit(source.doc.contents, []);
  return { issues, failedPaths, sensitiveValues: [...sensitiveValues] };
}
