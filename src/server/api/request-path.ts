/**
 * Reads a send-API request target as sent, before any normalization. The server routes on the normalized path,
 * where `/v1/openapi/v2/../../admin` would already be something else; the send API instead refuses every target
 * that is not in plain form, so what it forwards to QQ is exactly what was asked for and cannot climb out of its
 * place below `qq.api_base`.
 */

/** One path segment as sent, decoded when it can be. */
export interface PathSegment {
  /** As sent, still percent-encoded. */
  readonly raw: string;
  /** Decoded; absent when the segment has a {@link PathSegment.problem}. */
  readonly value?: string;
  /** Why the segment cannot be a value (a phrase: `is empty`), when it cannot. */
  readonly problem?: string;
}

/** A target in plain form. */
export interface ApiTarget {
  /** The segments below the root. */
  readonly segments: readonly PathSegment[];
  /** The query string with its `?`, as sent; empty when there is none. */
  readonly search: string;
}

/** Why a whole target was refused: a phrase following `the request path`. */
export interface TargetProblem {
  readonly problem: string;
}

/** Characters RFC 3986 allows in a path segment (pchar); `%` escapes are checked by decoding. */
const SEGMENT_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@%]*$/;
/** Characters RFC 3986 allows in a query. */
const QUERY_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@%/?]*$/;
// eslint-disable-next-line no-control-regex -- control characters are exactly what this refuses
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Splits `target` (`req.url`) into segments, or says why it is not a plain origin-form target: an absolute URL,
 * a `.` or `..` segment (also percent-encoded), a backslash, or a query string with characters that must be
 * encoded. Problems of single segments (empty, an encoded `/`, …) are left to whoever reads that segment.
 */
export function parseApiTarget(target: string): ApiTarget | TargetProblem {
  if (!target.startsWith('/') || target.startsWith('//')) {
    return { problem: 'must be a path starting with a single /, not an absolute URL' };
  }
  const queryAt = target.indexOf('?');
  const path = queryAt === -1 ? target : target.slice(0, queryAt);
  const search = queryAt === -1 ? '' : target.slice(queryAt);
  if (!QUERY_CHARS.test(search.slice(1))) {
    return { problem: 'has characters in its query string that must be percent-encoded' };
  }
  if (path.includes('\\')) return { problem: 'has a \\ in it' };
  const segments = path.split('/').slice(1).map(readSegment);
  if (segments.some(({ value }) => value === '.' || value === '..')) {
    return { problem: 'has a . or .. segment; send the resolved path' };
  }
  return { segments, search };
}

function readSegment(raw: string): PathSegment {
  if (raw === '') return { raw, problem: 'is empty' };
  if (!SEGMENT_CHARS.test(raw)) return { raw, problem: 'has characters that must be percent-encoded' };
  let value: string;
  try {
    value = decodeURIComponent(raw);
  } catch {
    return { raw, problem: 'has a malformed percent-encoding' };
  }
  if (value.includes('/') || value.includes('\\')) return { raw, problem: 'has an encoded / or \\ in it' };
  if (CONTROL.test(value)) return { raw, problem: 'has an encoded control character in it' };
  return { raw, value };
}
