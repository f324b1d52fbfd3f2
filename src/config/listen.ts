import { isIPv4, isIPv6 } from 'node:net';

/** Where the HTTP server binds. */
export interface ListenAddress {
  /** A host name or IP address without brackets (`::1`, not `[::1]`), as `server.listen()` wants it. */
  readonly host: string;
  /** 0 asks the OS for a free port (useful in tests). */
  readonly port: number;
}

/** The host `:9464` stands for: every IPv4 interface, which works on hosts without IPv6 too. */
export const ANY_HOST = '0.0.0.0';

const LISTEN = /^(?:\[([^\]]*)\]|([^:[\]]*)):(\d{1,5})$/;
const HOST_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/;

/**
 * Reads `host:port`, `[ipv6]:port` or `:port` (every interface). Undefined when the text is none of those, so the
 * caller can say where the bad value was.
 */
export function parseListen(text: string): ListenAddress | undefined {
  const match = LISTEN.exec(text);
  if (match === null) return undefined;
  const [, bracketed, plain, portText] = match;
  const port = Number(portText);
  if (port > 65_535) return undefined;
  if (bracketed !== undefined) return isIPv6(bracketed) ? { host: bracketed, port } : undefined;
  if (plain === undefined || plain === '') return { host: ANY_HOST, port };
  return isIPv4(plain) || HOST_NAME.test(plain) ? { host: plain, port } : undefined;
}
