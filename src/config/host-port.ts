/**
 * `host:port` of a Redis node, as `redis.cluster.nodes`, `redis.sentinel.nodes` and `redis.cluster.nat_map` write
 * it: a DNS name or IPv4 address, or an `[IPv6]` in brackets, then a port 1–65535. Bounded in length so a pasted
 * blob is refused rather than resolved.
 */
import { isIP } from 'node:net';

export interface HostPort {
  /** Without brackets for IPv6. */
  readonly host: string;
  readonly port: number;
}

/** The longest DNS name (253) plus brackets, colon and five port digits. */
export const HOST_PORT_MAX_LENGTH = 261;

const DNS_NAME =
  /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/i;

/** The parsed address, or undefined when `text` is not a valid `host:port`. */
export function parseHostPort(text: string): HostPort | undefined {
  if (text.length > HOST_PORT_MAX_LENGTH) return undefined;
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  if (!match) return undefined;
  const [, ipv6, name, portText = ''] = match;
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65_535 || portText.startsWith('0')) return undefined;
  if (ipv6 !== undefined) return isIP(ipv6) === 6 ? { host: ipv6, port } : undefined;
  if (name === undefined) return undefined;
  if (isIP(name) === 4 || (DNS_NAME.test(name) && !/^[\d.]+$/.test(name))) return { host: name, port };
  return undefined;
}
