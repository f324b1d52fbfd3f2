import { BlockList, isIP } from 'node:net';

// BlockList normalizes spellings (`0:0:0:0:0:0:0:1`) and matches IPv4-mapped IPv6 against the IPv4 rule.
const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/**
 * True when `host` can only be reached from this machine: `localhost`, 127.0.0.0/8, `::1` or an IPv4-mapped
 * loopback. Other host names count as reachable from the network, since what they resolve to is not known here.
 */
export function isLoopbackHost(host: string): boolean {
  const bare = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (bare === 'localhost') return true;
  const family = isIP(bare);
  return family !== 0 && LOOPBACK.check(bare, family === 4 ? 'ipv4' : 'ipv6');
}
