import { ConfigError, parseConfig, type ConfigIssue } from '../../src/config/index.js';

/** The file name the tests' issues carry. */
export const FILE = 'config/bridge.yaml';

/** A whsec_ secret from the Standard Webhooks test vector. */
export const WHSEC = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

/** The smallest valid file (3 lines), to append sections to: the next line is line 4. */
export const MINIMAL = `qq:\n  app_id: "102000000"\n  client_secret: qq-secret-value\n`;

/** MINIMAL plus one complete target (lines 4–7): a key appended to the target is on line 8, column 5. */
export const WITH_TARGET = `${MINIMAL}targets:\n  - id: backend\n    url: https://backend.example.com/qq\n    secret: ${WHSEC}\n`;

/** The issues `parseConfig` reports for `text`; fails the test when the text is valid. */
export function issuesOf(text: string, env: Record<string, string | undefined> = {}): ConfigIssue[] {
  try {
    parseConfig(text, FILE, env);
  } catch (err) {
    if (err instanceof ConfigError) return [...err.issues];
    throw err;
  }
  throw new Error('expected a ConfigError, but the config is valid');
}

/** Issues reduced to what the user sees: `line:column path: message`. */
export function shown(issues: readonly ConfigIssue[]): string[] {
  return issues.map((issue) => `${issue.line}:${issue.column} ${issue.path}: ${issue.message}`);
}
