/**
 * A request target (`req.url`, or a configured route path) as an HTTP server routes it: dot segments resolved,
 * non-ASCII percent-encoded, the query in `search`. Undefined when it does not parse as a path: `//` starts a
 * host name, for one. Routing on this form means `/metrics/../admin/x` is gated like `/admin/x`.
 */
export function parseRequestTarget(target: string | undefined): URL | undefined {
  try {
    return new URL(target ?? '/', 'http://localhost');
  } catch {
    return undefined;
  }
}
