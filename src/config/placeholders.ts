import { formatPath, type PendingIssue } from './located-issues.js';
import type { PathSegment } from './yaml-source.js';

/** A value `.env.example` ships in place of a secret, and what the user is to put there instead. */
export interface EnvPlaceholder {
  /** The variable of `.env.example` that carries it. */
  readonly variable: string;
  readonly value: string;
  /** What replaces it, completing "replace VARIABLE in .env with …". */
  readonly replaceWith: string;
}

/**
 * Every placeholder `.env.example` ships, in one place: the loader refuses them (so a copied `.env` left as it is
 * fails `config check` instead of crash-looping the gateway), and test/docker reads this list to check that
 * `.env.example` ships exactly these.
 */
export const ENV_EXAMPLE_PLACEHOLDERS: readonly EnvPlaceholder[] = [
  {
    variable: 'QQ_CLIENT_SECRET',
    value: 'replace-with-your-app-secret',
    replaceWith: 'the AppSecret from the QQ bot console',
  },
  {
    variable: 'BACKEND_WEBHOOK_SECRET',
    // base64 of "replace-me-with-openssl-rand-base64-32"
    value: 'whsec_cmVwbGFjZS1tZS13aXRoLW9wZW5zc2wtcmFuZC1iYXNlNjQtMzI=',
    replaceWith:
      'a secret of your own (echo "whsec_$(openssl rand -base64 32)"), the one your receiver verifies with',
  },
];

function placeholderIn(value: string): EnvPlaceholder | undefined {
  return ENV_EXAMPLE_PLACEHOLDERS.find((placeholder) => value.includes(placeholder.value));
}

function collect(value: unknown, path: PathSegment[], found: PendingIssue[]): void {
  if (typeof value === 'string') {
    const placeholder = placeholderIn(value);
    if (placeholder === undefined) return;
    const message =
      `${formatPath(path)} is the placeholder from .env.example: replace ${placeholder.variable} in .env with ` +
      placeholder.replaceWith;
    found.push({ path, message, at: 'value', complete: true });
  } else if (Array.isArray(value)) {
    value.forEach((item: unknown, index) => collect(item, [...path, index], found));
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) collect(item, [...path, key], found);
  }
}

/**
 * One issue per setting that still holds a shipped placeholder, wherever it is (a secret, a password inside a URL,
 * a header): the values are distinctive enough that no real setting contains one.
 */
export function placeholderIssues(data: unknown): PendingIssue[] {
  const found: PendingIssue[] = [];
  collect(data, [], found);
  return found;
}
