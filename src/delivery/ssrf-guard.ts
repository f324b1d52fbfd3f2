/**
 * The SSRF guard (docs/design.md §7): a target whose address is loopback, private, link-local, cloud metadata or
 * otherwise not a public unicast address is refused unless the target says `allow_private: true`.
 *
 * The check runs inside the connector, on the very address the socket is about to dial: a hostname is resolved by
 * the guarded `lookup` that `net.connect` calls, and the answer it hands back is the one connected to. There is no
 * earlier "validation" resolution whose answer could differ from the connect-time one, so DNS rebinding (public
 * when checked, private when connected) has no window to exploit. IP-literal hosts never reach a `lookup` (Node
 * skips it for literals), so the connector checks them itself before opening any socket.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { buildConnector } from 'undici';
import { BridgeError } from '../errors.js';

/** A set of prefixes sharing one label (which names the kind of address in the refusal message). */
interface Range {
  readonly label: string;
  readonly list: BlockList;
}

function range(label: string, v4: readonly string[], v6: readonly string[] = []): Range {
  const list = new BlockList();
  for (const cidr of v4) {
    const [net = '', bits = ''] = cidr.split('/');
    list.addSubnet(net, Number(bits), 'ipv4');
  }
  for (const cidr of v6) {
    const [net = '', bits = ''] = cidr.split('/');
    list.addSubnet(net, Number(bits), 'ipv6');
  }
  return { label, list };
}

/**
 * Everything that is not a globally reachable unicast address (IANA special-purpose registries, RFC 6890 and
 * successors). Broader than "RFC 1918" on purpose: multicast, broadcast, reserved and documentation ranges are no
 * legitimate webhook destination, and refusing them costs nothing. Order matters only for the label.
 *
 * Node's BlockList matches an IPv4 rule against the IPv4-mapped form (`::ffff:a.b.c.d`) too; the other
 * IPv6 forms that embed an IPv4 address are handled by {@link embeddedIpv4}.
 */
const RANGES: readonly Range[] = [
  range('unspecified', ['0.0.0.0/8'], ['::/128']),
  range('loopback', ['127.0.0.0/8'], ['::1/128']),
  range('private, RFC 1918', ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16']),
  // 100.100.100.200 (Alibaba Cloud metadata) lives here.
  range('carrier-grade NAT, RFC 6598', ['100.64.0.0/10']),
  // 169.254.169.254 is the metadata service of AWS, GCP, Azure and others; fd00:ec2::254 is AWS's IPv6 one.
  range('link-local, incl. cloud metadata', ['169.254.0.0/16'], ['fe80::/10']),
  range('unique-local', [], ['fc00::/7']),
  range('site-local, deprecated', [], ['fec0::/10']),
  range('multicast', ['224.0.0.0/4'], ['ff00::/8']),
  // 240/4 includes the limited broadcast 255.255.255.255.
  range('reserved or broadcast', ['240.0.0.0/4', '192.0.0.0/24', '192.88.99.0/24'], ['100::/64']),
  range('benchmarking', ['198.18.0.0/15'], ['2001:2::/48']),
  range(
    'documentation',
    ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24'],
    ['2001:db8::/32', '3fff::/20'],
  ),
  // Deprecated IPv4-compatible addresses (RFC 4291 §2.5.5.1): nothing legitimate uses them, so the whole
  // prefix is refused rather than judged by the embedded IPv4 address.
  range('IPv4-compatible, deprecated', [], ['::/96']),
  // Teredo hides the client's IPv4 address (obfuscated); a webhook receiver on Teredo does not exist in practice.
  range('Teredo tunnel', [], ['2001::/32']),
  // RFC 8215 local-use NAT64: where it translates to is defined by the site, so it may be anything internal.
  range('local-use NAT64', [], ['64:ff9b:1::/48']),
];

/** Parses a valid IPv6 literal (no zone) into its 16 bytes; undefined when it is not one. */
function ipv6Bytes(ip: string): Uint8Array | undefined {
  if (isIP(ip) !== 6) return undefined;
  let text = ip;
  const tail: number[] = [];
  // A trailing dotted quad (`::ffff:1.2.3.4`) stands for the last two groups.
  const lastColon = text.lastIndexOf(':');
  const last = text.slice(lastColon + 1);
  if (last.includes('.')) {
    tail.push(...last.split('.').map(Number));
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const [head = '', rest] = text.split('::');
  const parse = (part: string): number[] =>
    part === '' ? [] : part.split(':').map((group) => Number.parseInt(group, 16));
  const front = parse(head);
  const back = rest === undefined ? [] : parse(rest);
  const groups = [...front, ...Array<number>(8 - front.length - back.length).fill(0), ...back];
  const bytes = new Uint8Array(16);
  groups.forEach((group, i) => {
    bytes[i * 2] = group >> 8;
    bytes[i * 2 + 1] = group & 0xff;
  });
  if (tail.length === 4) bytes.set(tail, 12);
  return bytes;
}

const NAT64_WELL_KNOWN = range('', [], ['64:ff9b::/96']).list;
const SIX_TO_FOUR = range('', [], ['2002::/16']).list;

/**
 * The IPv4 address an IPv6 address stands for, where the network would deliver it to that IPv4 host:
 * - NAT64 well-known prefix `64:ff9b::/96` (RFC 6052): on a NAT64 network the translator forwards to the
 *   embedded address, so `64:ff9b::a00:1` reaches 10.0.0.1. Translators should refuse private embeddings but
 *   need not, so the embedded address is judged; a public one stays allowed, as that is how IPv6-only hosts
 *   legitimately reach IPv4 sites.
 * - 6to4 `2002::/16` (RFC 3056): bits 16–47 are the IPv4 address of the tunnel endpoint.
 * IPv4-mapped addresses need no entry: BlockList already matches them against the IPv4 rules.
 */
function embeddedIpv4(ip: string): string | undefined {
  const bytes = ipv6Bytes(ip);
  if (!bytes) return undefined;
  if (NAT64_WELL_KNOWN.check(ip, 'ipv6')) return Array.from(bytes.subarray(12, 16)).join('.');
  if (SIX_TO_FOUR.check(ip, 'ipv6')) return Array.from(bytes.subarray(2, 6)).join('.');
  return undefined;
}

/**
 * Why `ip` is not a public unicast address (`loopback`, `private, RFC 1918`…), or undefined when it is one.
 * Fails closed: a string that is not an IP address is reported as `not an IP address`.
 */
export function privateAddressKind(ip: string): string | undefined {
  // A zone id (`fe80::1%eth0`) is not part of the address; only link-local addresses carry one anyway.
  const address = ip.includes('%') ? ip.slice(0, ip.indexOf('%')) : ip;
  const family = isIP(address);
  if (family === 0) return 'not an IP address';
  const type = family === 4 ? 'ipv4' : 'ipv6';
  const hit = RANGES.find((r) => r.list.check(address, type));
  if (hit) return hit.label;
  const inner = family === 6 ? embeddedIpv4(address) : undefined;
  if (inner === undefined) return undefined;
  const innerKind = privateAddressKind(inner);
  return innerKind === undefined ? undefined : `${innerKind}, embedded as ${inner}`;
}

/**
 * True when a connection to `ip` could reach something that is not the public internet: IPv4 0/8, 127/8,
 * RFC 1918, CGNAT 100.64/10, link-local 169.254/16 (cloud metadata), multicast, reserved, broadcast,
 * documentation and benchmarking ranges; IPv6 `::`, `::1`, fc00::/7, fe80::/10, fec0::/10, ff00::/8,
 * documentation, Teredo, deprecated IPv4-compatible `::/96`, and IPv4-mapped / NAT64 (64:ff9b::/96) / 6to4
 * addresses whose embedded IPv4 address is private. Anything that is not an IP address counts as private
 * (fail closed). See {@link privateAddressKind} for which rule matched.
 */
export function isPrivateAddress(ip: string): boolean {
  return privateAddressKind(ip) !== undefined;
}

/** The error of a refused address; `code` is `BRIDGE_ERR_SSRF_BLOCKED`, which classify.ts dead-letters at once. */
export function ssrfBlockedError(host: string, address: string): BridgeError {
  const kind = privateAddressKind(address) ?? 'not public';
  const what =
    host === address ? `target address ${address}` : `target host "${host}" resolves to ${address}`;
  return new BridgeError(
    'BRIDGE_ERR_SSRF_BLOCKED',
    `${what}, which is not a public address (${kind}); refused by the SSRF guard. If this target is meant ` +
      'to be on a private network, set allow_private: true on it',
  );
}

type LookupCallback = Parameters<LookupFunction>[2];

/**
 * Wraps a resolver (default `dns.lookup`) so that it fails with {@link ssrfBlockedError} when ANY address it
 * returns is private. With Happy Eyeballs (`autoSelectFamily`, on by default) Node asks for every address
 * (`all: true`) and may dial any of them, so one private answer among public ones refuses the host: a name
 * that mixes them is either misconfigured or an attack.
 */
export function guardLookup(resolve: LookupFunction = dnsLookup): LookupFunction {
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    resolve(hostname, options, (err, address, family) => {
      if (err) {
        callback(err, address, family);
        return;
      }
      const addresses =
        typeof address === 'string' ? [address] : address.map((a: LookupAddress) => a.address);
      const blocked = addresses.find(isPrivateAddress);
      if (blocked !== undefined) {
        callback(ssrfBlockedError(hostname, blocked), options.all === true ? [] : '', family);
        return;
      }
      callback(null, address, family);
    });
  };
}

/**
 * undici connector options the guard composes with. `lookup`, when given, is the resolver the guard consults
 * (tests inject one that answers without DNS); the guard wraps it, never replaces the check.
 */
export type ConnectOptions = Partial<buildConnector.BuildOptions> & { readonly lookup?: LookupFunction };

/**
 * An undici connector that refuses private addresses: an IP-literal host is checked before any socket is
 * created, a hostname through {@link guardLookup} at resolve time, which is connect time. Every socket of an
 * agent built on it, including pooled keep-alive ones, was opened through this check.
 */
export function guardedConnector(options: ConnectOptions = {}): buildConnector.connector {
  const { lookup, ...rest } = options;
  const connect = buildConnector({ ...rest, lookup: guardLookup(lookup) });
  return (opts, callback) => {
    // undici hands IPv6 literals over without brackets.
    const host = opts.hostname;
    if (isIP(host) !== 0 && isPrivateAddress(host)) {
      const err = ssrfBlockedError(host, host);
      // Asynchronously, like a failed connect, so undici's bookkeeping sees the usual order of events.
      queueMicrotask(() => callback(err, null));
      return;
    }
    connect(opts, callback);
  };
}
