/**
 * Single-use login codes for the admin dashboard: `GET /admin/login?code=<code>` logs a browser in once, so a
 * command that starts the bridge for someone (the demo) can print a link instead of asking them to paste the
 * admin token. Not a config key: only code that builds the server itself can issue them. The codes live in this
 * process's memory, so a link works on the process that printed it.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** What presenting a code did. */
export type CodeRedemption = 'accepted' | 'spent' | 'unknown';

/** Issues and redeems single-use login codes. See {@link createLoginCodes}. */
export interface LoginCodes {
  /** A new random code (256 bits, base64url), valid once. It is a credential: show it only to its user. */
  issue(): string;
  /**
   * `accepted` the first time a code issued here is presented (it is spent from then on), `spent` after that,
   * `unknown` for anything else.
   */
  redeem(presented: string): CodeRedemption;
}

const CODE_BYTES = 32;

/** Codes are kept and compared as SHA-256 digests: equal length, so the comparison can be constant-time. */
function digest(code: string): Buffer {
  return createHash('sha256').update(code, 'utf8').digest();
}

/** True when `digests` holds `wanted`; every entry is compared in constant time, none skipped. */
function holds(digests: readonly Buffer[], wanted: Buffer): boolean {
  let found = false;
  for (const candidate of digests) found = timingSafeEqual(candidate, wanted) || found;
  return found;
}

export function createLoginCodes(): LoginCodes {
  let open: Buffer[] = [];
  const spent: Buffer[] = [];
  return {
    issue() {
      const code = randomBytes(CODE_BYTES).toString('base64url');
      open.push(digest(code));
      return code;
    },
    redeem(presented) {
      const wanted = digest(presented);
      if (holds(open, wanted)) {
        open = open.filter((candidate) => !timingSafeEqual(candidate, wanted));
        spent.push(wanted);
        return 'accepted';
      }
      return holds(spent, wanted) ? 'spent' : 'unknown';
    },
  };
}
