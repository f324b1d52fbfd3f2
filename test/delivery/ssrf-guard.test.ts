import { createServer, type Server } from 'node:http';
import type { AddressInfo, LookupFunction } from 'node:net';
import type { LookupAddress } from 'node:dns';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TargetConfig } from '../../src/config/types.js';
import { WebhookDeliverer } from '../../src/delivery/deliver.js';
import { guardLookup, isPrivateAddress, privateAddressKind } from '../../src/delivery/ssrf-guard.js';
import { startDeliveryWorkers, type DeliveryWorkers } from '../../src/delivery/worker.js';
import { silentLogger } from '../../src/log.js';
import type { AttemptRecord } from '../../src/queue/job.js';
import { jobIdForEvent } from '../../src/queue/names.js';
import { deliveryQueue } from '../../src/queue/delivery-queue.js';
import { installLoopbackOnly, type LoopbackOnly } from '../helpers/loopback-only.js';
import {
  addDelivery,
  deletePrefix,
  makeConfig,
  makeTarget,
  redisConnection,
  uniquePrefix,
  waitFor,
} from './fixtures.js';

/**
 * No test here opens a connection to anything but loopback. Made-up hostnames are answered by an injected
 * `lookup`; a non-loopback answer is only ever given where the guard must refuse it before any socket connects.
 * The loopback-only fail-safe enforces that even if the guard regresses, and its empty `prevented` list after
 * every test is the proof that no non-loopback connection was attempted.
 */
let loopbackOnly: LoopbackOnly;
beforeAll(() => {
  loopbackOnly = installLoopbackOnly();
});
afterAll(() => loopbackOnly.restore());
afterEach(() => {
  const prevented = loopbackOnly.prevented.splice(0);
  expect(prevented, 'non-loopback connection attempts').toEqual([]);
});

/** A loopback HTTP server that counts TCP connections, not just requests: the guard must not even connect. */
interface CountingServer {
  readonly port: number;
  readonly connections: number;
  readonly requests: number;
  close(): Promise<void>;
}

async function countingServer(host: '127.0.0.1' | '::1'): Promise<CountingServer> {
  let connections = 0;
  let requests = 0;
  const server: Server = createServer((_req, res) => {
    requests += 1;
    res.end('ok');
  });
  server.on('connection', () => {
    connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return {
    port: (server.address() as AddressInfo).port,
    get connections() {
      return connections;
    },
    get requests() {
      return requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A resolver for made-up names: answers each call with the next address of `answers` (the last repeats). */
function scriptedLookup(answers: readonly string[]): LookupFunction & { calls: string[] } {
  const calls: string[] = [];
  const lookup = (
    hostname: string,
    options: { all?: boolean },
    callback: (err: Error | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    calls.push(hostname);
    const address = answers[Math.min(calls.length - 1, answers.length - 1)] ?? '';
    const family = address.includes(':') ? 6 : 4;
    setImmediate(() => {
      if (options.all === true) callback(null, [{ address, family }]);
      else callback(null, address, family);
    });
  };
  return Object.assign(lookup as LookupFunction, { calls });
}

const servers: CountingServer[] = [];
let deliverer: WebhookDeliverer | undefined;
afterEach(async () => {
  await deliverer?.close();
  deliverer = undefined;
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function server(host: '127.0.0.1' | '::1' = '127.0.0.1'): Promise<CountingServer> {
  const s = await countingServer(host);
  servers.push(s);
  return s;
}

function guardedTarget(url: string, overrides: Partial<TargetConfig> = {}): TargetConfig {
  return makeTarget({ id: 't', url, allowPrivate: false, ...overrides });
}

const input = { eventId: 'GROUP_ADD_ROBOT:ssrf', body: '{}', attempt: 1 };

describe('isPrivateAddress', () => {
  it.each([
    // IPv4
    ['127.0.0.1', true, 'loopback'],
    ['127.255.255.254', true, 'loopback'],
    ['0.0.0.0', true, 'unspecified'],
    ['0.1.2.3', true, 'unspecified'],
    ['10.0.0.1', true, 'private, RFC 1918'],
    ['172.16.0.1', true, 'private, RFC 1918'],
    ['172.31.255.255', true, 'private, RFC 1918'],
    ['192.168.1.1', true, 'private, RFC 1918'],
    ['100.64.0.1', true, 'carrier-grade NAT, RFC 6598'],
    ['100.100.100.200', true, 'carrier-grade NAT, RFC 6598'],
    ['169.254.169.254', true, 'link-local, incl. cloud metadata'],
    ['169.254.0.1', true, 'link-local, incl. cloud metadata'],
    ['224.0.0.1', true, 'multicast'],
    ['239.255.255.250', true, 'multicast'],
    ['255.255.255.255', true, 'reserved or broadcast'],
    ['240.0.0.1', true, 'reserved or broadcast'],
    ['192.0.0.192', true, 'reserved or broadcast'],
    ['198.18.0.1', true, 'benchmarking'],
    ['192.0.2.10', true, 'documentation'],
    ['203.0.113.7', true, 'documentation'],
    ['8.8.8.8', false, undefined],
    ['1.1.1.1', false, undefined],
    ['93.184.215.14', false, undefined],
    ['172.15.255.255', false, undefined],
    ['172.32.0.0', false, undefined],
    ['100.63.255.255', false, undefined],
    ['100.128.0.0', false, undefined],
    ['169.253.255.255', false, undefined],
    ['11.0.0.1', false, undefined],
    ['223.255.255.255', false, undefined],
    // IPv6
    ['::1', true, 'loopback'],
    ['0:0:0:0:0:0:0:1', true, 'loopback'],
    ['::', true, 'unspecified'],
    ['fc00::1', true, 'unique-local'],
    ['fd12:3456:789a::1', true, 'unique-local'],
    ['fd00:ec2::254', true, 'unique-local'],
    ['fe80::1', true, 'link-local, incl. cloud metadata'],
    ['fe80::1%eth0', true, 'link-local, incl. cloud metadata'],
    ['febf::1', true, 'link-local, incl. cloud metadata'],
    ['fec0::1', true, 'site-local, deprecated'],
    ['ff02::1', true, 'multicast'],
    ['2001:db8::1', true, 'documentation'],
    ['2001:0:4136:e378::1', true, 'Teredo tunnel'],
    ['100::1', true, 'reserved or broadcast'],
    // IPv4-mapped: BlockList applies the IPv4 rules, in dotted and in hex form
    ['::ffff:127.0.0.1', true, 'loopback'],
    ['::ffff:7f00:1', true, 'loopback'],
    ['::ffff:10.1.2.3', true, 'private, RFC 1918'],
    ['::ffff:169.254.169.254', true, 'link-local, incl. cloud metadata'],
    ['::ffff:8.8.8.8', false, undefined],
    // IPv4-compatible (deprecated): refused whatever it embeds
    ['::127.0.0.1', true, 'IPv4-compatible, deprecated'],
    ['::8.8.8.8', true, 'IPv4-compatible, deprecated'],
    // NAT64 well-known prefix: judged by the embedded IPv4 address
    ['64:ff9b::10.0.0.1', true, 'private, RFC 1918, embedded as 10.0.0.1'],
    ['64:ff9b::a9fe:a9fe', true, 'link-local, incl. cloud metadata, embedded as 169.254.169.254'],
    ['64:ff9b::7f00:1', true, 'loopback, embedded as 127.0.0.1'],
    ['64:ff9b::808:808', false, undefined],
    ['64:ff9b:1::a00:1', true, 'local-use NAT64'],
    // 6to4: bits 16–47 are the IPv4 address
    ['2002:7f00:1::1', true, 'loopback, embedded as 127.0.0.1'],
    ['2002:c0a8:101::1', true, 'private, RFC 1918, embedded as 192.168.1.1'],
    ['2002:808:808::1', false, undefined],
    ['2606:4700:4700::1111', false, undefined],
    ['2001:4860:4860::8888', false, undefined],
    // not an address at all: fail closed
    ['localhost', true, 'not an IP address'],
    ['', true, 'not an IP address'],
    ['999.1.1.1', true, 'not an IP address'],
  ])('%s → %s (%s)', (ip, expected, kind) => {
    expect(isPrivateAddress(ip)).toBe(expected);
    expect(privateAddressKind(ip)).toBe(kind);
  });
});

describe('guardLookup', () => {
  const resolveTo =
    (answer: string | LookupAddress[]): LookupFunction =>
    (_hostname, _options, callback) =>
      callback(null, answer, 4);

  const run = (
    lookup: LookupFunction,
    all: boolean,
  ): Promise<{ err: NodeJS.ErrnoException | null; address: string | LookupAddress[] }> =>
    new Promise((resolve) => {
      guardLookup(lookup)('hooks.example.test', { all }, (err, address) => resolve({ err, address }));
    });

  it('passes a public answer through unchanged, in both callback forms', async () => {
    expect(await run(resolveTo('93.184.215.14'), false)).toEqual({ err: null, address: '93.184.215.14' });
    const list = [
      { address: '93.184.215.14', family: 4 },
      { address: '2606:2800:21f:cb07:6820:80da:af6b:8b2c', family: 6 },
    ];
    expect(await run(resolveTo(list), true)).toEqual({ err: null, address: list });
  });

  it('refuses the host when any one of several answers is private', async () => {
    const { err } = await run(
      resolveTo([
        { address: '93.184.215.14', family: 4 },
        { address: '10.0.0.1', family: 4 },
      ]),
      true,
    );
    expect(err?.code).toBe('BRIDGE_ERR_SSRF_BLOCKED');
    expect(err?.message).toBe(
      'target host "hooks.example.test" resolves to 10.0.0.1, which is not a public address (private, RFC 1918); ' +
        'refused by the SSRF guard. If this target is meant to be on a private network, set allow_private: true on it',
    );
  });

  it('passes resolver errors through untouched', async () => {
    const notFound = Object.assign(new Error('getaddrinfo ENOTFOUND x'), { code: 'ENOTFOUND' });
    const { err } = await run((_h, _o, callback) => callback(notFound, '', 4), false);
    expect(err).toBe(notFound);
  });
});

describe('WebhookDeliverer with the SSRF guard', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1', '127.0.0.1'],
    ['[::1]', '::1', '::1'],
    ['[::ffff:127.0.0.1]', '127.0.0.1', '::ffff:7f00:1'],
  ] as const)(
    'refuses the literal %s before opening a socket: rejected with BRIDGE_ERR_SSRF_BLOCKED',
    async (literal, listen, shown) => {
      const s = await server(listen === '::1' ? '::1' : '127.0.0.1');
      deliverer = new WebhookDeliverer();
      const result = await deliverer.deliver(guardedTarget(`http://${literal}:${s.port}/hook`), input);
      expect(result).toMatchObject({
        outcome: 'rejected',
        errorCode: 'BRIDGE_ERR_SSRF_BLOCKED',
        errorKind: 'blocked',
      });
      expect(result.error).toContain(`target address ${shown}`);
      expect(result.error).toContain('allow_private: true');
      expect(s.connections).toBe(0);
    },
  );

  it.each([
    ['internal.example.test', '10.0.0.1', 'private, RFC 1918'],
    ['metadata.example.test', '169.254.169.254', 'link-local, incl. cloud metadata'],
    ['v6.example.test', 'fd00:ec2::254', 'unique-local'],
  ])('refuses %s, which resolves to %s, at resolve time, before any connect', async (host, address, kind) => {
    const lookup = scriptedLookup([address]);
    deliverer = new WebhookDeliverer({ connect: { lookup } });
    const started = performance.now();
    const result = await deliverer.deliver(guardedTarget(`http://${host}/hook`, { timeoutMs: 5_000 }), input);
    // A real connect to these addresses would hang until the timeout or fail with a socket error instead.
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(result).toMatchObject({ outcome: 'rejected', errorCode: 'BRIDGE_ERR_SSRF_BLOCKED' });
    expect(result.error).toBe(
      `blocked: target host "${host}" resolves to ${address}, which is not a public address (${kind}); ` +
        'refused by the SSRF guard. If this target is meant to be on a private network, set allow_private: true on it',
    );
    expect(lookup.calls).toEqual([host]);
  });

  it('refuses a name that resolves to loopback: the listening receiver sees no connection at all', async () => {
    const s = await server();
    deliverer = new WebhookDeliverer({ connect: { lookup: scriptedLookup(['127.0.0.1']) } });
    const result = await deliverer.deliver(
      guardedTarget(`http://receiver.example.test:${s.port}/hook`),
      input,
    );
    expect(result.errorCode).toBe('BRIDGE_ERR_SSRF_BLOCKED');
    expect(s.connections).toBe(0);
  });

  it('judges the answer used for the connection, so a rebinding name (public, then private) is refused', async () => {
    const s = await server();
    // First answer public, every later one loopback, where a receiver listens: a guard that trusted an earlier
    // resolution (say, at config load) would connect there.
    const lookup = scriptedLookup(['93.184.215.14', '127.0.0.1']);
    const earlier = await new Promise<string | LookupAddress[]>((resolve) => {
      lookup('rebind.example.test', {}, (_err, address) => resolve(address));
    });
    expect(earlier).toBe('93.184.215.14');
    expect(isPrivateAddress('93.184.215.14')).toBe(false);

    deliverer = new WebhookDeliverer({ connect: { lookup } });
    const result = await deliverer.deliver(guardedTarget(`http://rebind.example.test:${s.port}/hook`), input);
    expect(result).toMatchObject({ outcome: 'rejected', errorCode: 'BRIDGE_ERR_SSRF_BLOCKED' });
    expect(result.error).toContain('resolves to 127.0.0.1');
    expect(lookup.calls).toHaveLength(2);
    expect(s.connections).toBe(0);
  });

  it('re-checks every new connection: a name that turns private after a refused one stays refused', async () => {
    const s = await server();
    const lookup = scriptedLookup(['10.0.0.1', '127.0.0.1']);
    deliverer = new WebhookDeliverer({ connect: { lookup } });
    const target = guardedTarget(`http://flip.example.test:${s.port}/hook`);
    const first = await deliverer.deliver(target, input);
    const second = await deliverer.deliver(target, { ...input, attempt: 2 });
    expect([first.errorCode, second.errorCode]).toEqual([
      'BRIDGE_ERR_SSRF_BLOCKED',
      'BRIDGE_ERR_SSRF_BLOCKED',
    ]);
    expect(lookup.calls).toHaveLength(2);
    expect(s.connections).toBe(0);
  });

  it('delivers to loopback, by literal and by name, when the target sets allowPrivate', async () => {
    const s = await server();
    const s6 = await server('::1');
    deliverer = new WebhookDeliverer({ connect: { lookup: scriptedLookup(['127.0.0.1']) } });
    const allowed = { allowPrivate: true };
    const results = await Promise.all([
      deliverer.deliver(guardedTarget(`http://127.0.0.1:${s.port}/hook`, allowed), input),
      deliverer.deliver(guardedTarget(`http://receiver.example.test:${s.port}/hook`, allowed), input),
      deliverer.deliver(guardedTarget(`http://[::1]:${s6.port}/hook`, allowed), input),
    ]);
    expect(results.map((r) => r.outcome)).toEqual(['delivered', 'delivered', 'delivered']);
    expect(s.requests + s6.requests).toBe(3);
  });
});

describe('delivery workers with the SSRF guard', () => {
  let prefix = '';
  let workers: DeliveryWorkers | undefined;
  afterEach(async () => {
    await workers?.close(1_000);
    workers = undefined;
    if (prefix !== '') await deletePrefix(prefix);
  });

  it('dead-letters deliveries to 127.0.0.1 and [::1] at once with BRIDGE_ERR_SSRF_BLOCKED; nothing is sent', async () => {
    prefix = uniquePrefix();
    const v4 = await server();
    const v6 = await server('::1');
    const targets = [
      makeTarget({ id: 'loop4', url: `http://127.0.0.1:${v4.port}/hook`, allowPrivate: false }),
      makeTarget({ id: 'loop6', url: `http://[::1]:${v6.port}/hook`, allowPrivate: false }),
    ];
    // The default deliverer: what `run` uses, with no guard wiring of its own.
    workers = startDeliveryWorkers({ config: makeConfig(prefix, targets), logger: silentLogger() });
    const connection = redisConnection();
    try {
      for (const target of targets) {
        const queue = deliveryQueue(target.id, prefix, connection);
        const eventId = `GROUP_ADD_ROBOT:${target.id}`;
        await addDelivery(queue, target, eventId);
        const jobId = jobIdForEvent(eventId);
        await waitFor(async () => (await queue.getJobState(jobId)) === 'failed');
        const job = await queue.getJob(jobId);
        expect(job?.attemptsMade).toBe(1);
        expect(job?.failedReason).toMatch(/refused by the SSRF guard.*allow_private: true/);
        const { logs } = await queue.getJobLogs(jobId);
        const records = logs.map((line) => JSON.parse(line) as AttemptRecord);
        expect(records).toMatchObject([
          { attempt: 1, outcome: 'rejected', errorCode: 'BRIDGE_ERR_SSRF_BLOCKED' },
        ]);
        await queue.close();
      }
    } finally {
      await connection.quit();
    }
    expect(v4.connections + v6.connections).toBe(0);
  });
});
