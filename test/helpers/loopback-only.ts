/**
 * A net-level fail-safe for tests that hand hostile addresses (10.0.0.1, 169.254.169.254…) to code under test:
 * every socket connect in this process goes through it, and any dial to a non-loopback address is recorded and
 * failed before the socket opens. Were the SSRF guard to regress, its tests would then fail on `prevented`
 * instead of sending packets to a private network or a cloud metadata service. Recording what was prevented also
 * proves the positive claim: when `prevented` stays empty, nothing non-loopback was even attempted.
 *
 * It wraps `net.Socket.prototype.connect` (which `net.connect`, `tls.connect`, undici and ioredis all end in):
 * IP-literal hosts are checked there, and hostnames by wrapping the socket's `lookup` as the outermost layer, so
 * it judges exactly the address the socket would dial.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import net, { BlockList, isIP, type LookupFunction } from 'node:net';

export interface LoopbackOnly {
  /** Non-loopback addresses a socket tried to connect to; each attempt was failed before connecting. */
  readonly prevented: string[];
  /** Puts the original `connect` back. */
  restore(): void;
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4'); // also matches the IPv4-mapped forms (::ffff:7f00:1)
LOOPBACK.addAddress('::1', 'ipv6');

function isLoopback(address: string): boolean {
  const family = isIP(address);
  return family !== 0 && LOOPBACK.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

function preventedError(address: string): Error {
  return Object.assign(new Error(`test fail-safe: refused to connect to non-loopback ${address}`), {
    code: 'ETEST_LOOPBACK_ONLY',
  });
}

/** Installs the fail-safe for the whole process until `restore()`; install once per test file. */
export function installLoopbackOnly(): LoopbackOnly {
  const prevented: string[] = [];
  // eslint-disable-next-line @typescript-eslint/unbound-method -- put back as is, and only called with apply(this)
  const original = net.Socket.prototype.connect;

  const outermost =
    (inner: LookupFunction): LookupFunction =>
    (hostname, options, callback) => {
      inner(hostname, options, (err, address, family) => {
        if (err) {
          callback(err, address, family);
          return;
        }
        const all = typeof address === 'string' ? [address] : address.map((a: LookupAddress) => a.address);
        const outside = all.filter((a) => !isLoopback(a));
        if (outside.length > 0) {
          prevented.push(...outside);
          callback(preventedError(outside.join(', ')), options.all === true ? [] : '', family);
          return;
        }
        callback(null, address, family);
      });
    };

  // `net.connect` passes its normalized argument array, `tls.connect` a plain options object.
  function guardedConnect(this: net.Socket, ...args: unknown[]): net.Socket {
    const first: unknown = args[0];
    const options: unknown = Array.isArray(first) ? first[0] : first;
    if (typeof options === 'object' && options !== null && !('path' in options && options.path)) {
      const tcp = options as { host?: unknown; lookup?: LookupFunction };
      const host = typeof tcp.host === 'string' ? tcp.host : 'localhost';
      if (isIP(host) !== 0) {
        if (!isLoopback(host)) {
          prevented.push(host);
          process.nextTick(() => this.destroy(preventedError(host)));
          return this;
        }
      } else {
        tcp.lookup = outermost(tcp.lookup ?? dnsLookup);
      }
    }
    return (original as (...a: unknown[]) => net.Socket).apply(this, args);
  }

  net.Socket.prototype.connect = guardedConnect;
  return {
    prevented,
    restore: () => {
      net.Socket.prototype.connect = original;
    },
  };
}
