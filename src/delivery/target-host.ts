/** What a log line says instead of the host of a URL that does not parse (the request itself fails on it too). */
export const UNPARSEABLE_HOST = '(unparseable url)';

/**
 * The host (and explicit port) of a target URL, for log lines: never the userinfo, path or query, where tokens
 * are often put.
 */
export function targetHost(url: string): string {
  try {
    return new URL(url).host || UNPARSEABLE_HOST;
  } catch {
    return UNPARSEABLE_HOST;
  }
}

/** The port a URL of `protocol` (`https:`, with the colon) uses when it names none. */
export function defaultPort(protocol: string): string {
  return protocol === 'https:' ? '443' : '80';
}
