import { isIP } from 'node:net';

/** `host:port` as a Host header carries it: a name or IPv4 address, or a bracketed IPv6 one, then a port. */
const HOST_HEADER = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):\d{1,5}$/;

function isWildcard(host: string): boolean {
  return (isIP(host) === 4 && host === '0.0.0.0') || (isIP(host) === 6 && /^[0:]+$/.test(host));
}

/**
 * The WebSocket URL `/gateway` and `/gateway/bot` answer with. Bound to one address, that address. Bound to every
 * interface (`--host 0.0.0.0`, as in a container), `ws://0.0.0.0:…` would send the client to itself, so the answer
 * names the address the client reached the simulator at, from its Host header.
 */
export function advertisedWsUrl(boundHost: string, boundUrl: string, hostHeader: string | undefined): string {
  if (!isWildcard(boundHost) || hostHeader === undefined || !HOST_HEADER.test(hostHeader)) return boundUrl;
  const url = new URL(boundUrl);
  url.host = hostHeader;
  return url.href;
}
