/** The outcome of substituting `${VAR}` references in one string. */
export interface Interpolation {
  /** The string with every reference replaced (a missing variable contributes nothing). */
  readonly value: string;
  /** Whether the string held at least one `${…}` reference. */
  readonly substituted: boolean;
  /** Every variable the string referenced, in order of appearance. */
  readonly variables: readonly string[];
  /** Variables referenced without a default that are not set. */
  readonly missing: readonly string[];
  /** Malformed references, each as a complete sentence. */
  readonly errors: readonly string[];
}

const REFERENCE = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;

/**
 * Replaces `${VAR}` and `${VAR:-default}` in `text` with values from `env`; `$${` is a literal `${`.
 *
 * Follows the shell: `${VAR:-default}` uses the default when VAR is unset *or empty*, and `${VAR}` with VAR set
 * to the empty string gives the empty string. Defaults are taken literally (no nested references), and a `$` not
 * followed by `{` is kept as written.
 */
export function interpolate(text: string, env: Readonly<Record<string, string | undefined>>): Interpolation {
  let value = '';
  let substituted = false;
  const variables: string[] = [];
  const missing: string[] = [];
  const errors: string[] = [];
  let i = 0;
  while (i < text.length) {
    const dollar = text.indexOf('$', i);
    if (dollar === -1) {
      value += text.slice(i);
      break;
    }
    value += text.slice(i, dollar);
    if (text.startsWith('$${', dollar)) {
      value += '${';
      i = dollar + 3;
      continue;
    }
    if (!text.startsWith('${', dollar)) {
      value += '$';
      i = dollar + 1;
      continue;
    }
    const close = text.indexOf('}', dollar + 2);
    if (close === -1) {
      errors.push('unterminated ${ (no closing }); close the reference, or write $${ for a literal ${');
      value += text.slice(dollar);
      break;
    }
    substituted = true;
    const inner = text.slice(dollar + 2, close);
    const match = REFERENCE.exec(inner);
    const name = match?.[1];
    if (match === null || name === undefined) {
      errors.push(
        `malformed reference \${${inner}}: expected \${NAME} or \${NAME:-default} where NAME is letters, digits ` +
          'and _ (not starting with a digit); write $${ for a literal ${',
      );
    } else {
      variables.push(name);
      const fallback = match[2];
      const set = env[name];
      if (fallback !== undefined) value += set === undefined || set === '' ? fallback : set;
      else if (set !== undefined) value += set;
      else missing.push(name);
    }
    i = close + 1;
  }
  return { value, substituted, variables, missing, errors };
}

/**
 * Whether an environment variable's name says it holds a credential; values of such variables are never echoed
 * in messages.
 */
export function isSensitiveVariable(name: string): boolean {
  return /SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL|(?:^|_)(?:API_)?KEY(?:_|$)/i.test(name);
}
