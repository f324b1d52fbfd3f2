import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { summarizeConfig } from '../../src/commands/config-check.js';
import { FILE, MINIMAL, issuesOf, shown } from './helpers.js';

const CLUSTER = `${MINIMAL}redis:
  cluster:
    nodes: ["10.0.0.5:6379", "[fd00::6]:6380", "redis-3.internal:6381"]
    username: bridge
    password: cluster-pass-Secret1
    tls: { ca_file: /etc/ssl/redis-ca.pem, servername: redis.internal }
    nat_map: { "172.18.0.2:6379": "127.0.0.1:7000" }
`;

const SENTINEL = `${MINIMAL}redis:
  sentinel:
    name: mymaster
    nodes: ["10.0.0.5:26379", "10.0.0.6:26379"]
    password: data-pass-Secret2
    sentinel_password: sentinel-pass-Secret3
    tls: true
`;

describe('redis: url, cluster or sentinel', () => {
  it('reads a cluster: nodes parsed, TLS filled in, the NAT map keyed as ioredis looks it up', () => {
    const config = parseConfig(CLUSTER, FILE, {});
    expect(config.redis).toEqual({
      url: '',
      prefix: '{qqwb}',
      // a Cluster waits for one replica by default
      minReplicas: 1,
      replicaWaitTimeoutMs: 500,
      connection: {
        kind: 'cluster',
        nodes: [
          { host: '10.0.0.5', port: 6379 },
          { host: 'fd00::6', port: 6380 },
          { host: 'redis-3.internal', port: 6381 },
        ],
        username: 'bridge',
        password: 'cluster-pass-Secret1',
        tls: { caFile: '/etc/ssl/redis-ca.pem', servername: 'redis.internal', rejectUnauthorized: true },
        natMap: { '172.18.0.2:6379': { host: '127.0.0.1', port: 7000 } },
      },
    });
  });

  it('reads a Sentinel set with the data and the Sentinel passwords apart', () => {
    const config = parseConfig(SENTINEL, FILE, {});
    expect(config.redis.connection).toEqual({
      kind: 'sentinel',
      name: 'mymaster',
      nodes: [
        { host: '10.0.0.5', port: 26379 },
        { host: '10.0.0.6', port: 26379 },
      ],
      password: 'data-pass-Secret2',
      sentinelPassword: 'sentinel-pass-Secret3',
      tls: { rejectUnauthorized: true },
    });
  });

  it('defaults to one node at redis://127.0.0.1:6379', () => {
    expect(parseConfig(MINIMAL, FILE, {}).redis.connection).toEqual({
      kind: 'single',
      url: 'redis://127.0.0.1:6379',
    });
  });

  it('refuses two ways at once, at the second key, saying what to keep', () => {
    const text = `${MINIMAL}redis:\n  url: redis://127.0.0.1:6379\n  cluster: { nodes: ["10.0.0.5:6379"] }\n`;
    expect(shown(issuesOf(text))).toEqual([
      '6:3 redis.cluster: redis.cluster is set together with redis.url; Redis is reached one way only: keep url ' +
        '(one node), cluster (Redis Cluster) or sentinel (a Sentinel-managed master), and remove the others',
    ]);
    const three =
      `${MINIMAL}redis:\n  url: redis://h:6379\n  cluster: { nodes: ["h:1"] }\n` +
      `  sentinel: { name: m, nodes: ["h:2"] }\n`;
    expect(issuesOf(three).map((issue) => issue.path)).toEqual(['redis.cluster', 'redis.sentinel']);
  });

  it.each([
    ['10.0.0.5', 'no port'],
    ['10.0.0.5:0', 'port 0'],
    ['10.0.0.5:65536', 'port above 65535'],
    ['10.0.0.5:06379', 'a leading zero'],
    ['::1:6379', 'IPv6 without brackets'],
    ['[not-ip]:6379', 'brackets around a name'],
    ['999.1.1.1:6379', 'not an IPv4 address'],
    ['host name:6379', 'a space'],
    [`${'a'.repeat(300)}:6379`, 'too long'],
  ])('refuses the node %j (%s)', (node) => {
    const issues = issuesOf(`${MINIMAL}redis:\n  cluster:\n    nodes: ["${node}"]\n`);
    expect(issues.map((issue) => issue.path)).toEqual(['redis.cluster.nodes[0]']);
    expect(issues[0]?.message).toMatch(/^expected a Redis node as host:port, like 10\.0\.0\.5:6379/);
  });

  it('refuses a Sentinel set without name or nodes, and an empty node list', () => {
    expect(shown(issuesOf(`${MINIMAL}redis:\n  sentinel: { nodes: [] }\n`))).toEqual([
      '5:3 redis.sentinel.name: expected the master name the Sentinels monitor, like mymaster; found nothing ' +
        '(the key is missing)',
      '5:22 redis.sentinel.nodes: expected a list of Sentinels as host:port, like ["10.0.0.5:6379", ' +
        '"10.0.0.6:6379"]; found an empty list',
    ]);
  });

  it('never shows a Redis password in an error, whatever is wrong with it', () => {
    const text =
      `${MINIMAL}redis:\n  sentinel:\n    name: m\n    nodes: ["h:1"]\n    password: 123456789012\n` +
      `    sentinel_password: { x: 1 }\n    sentinel_username: sentinel-pass-Secret3\n`;
    const messages = issuesOf(text, {}).map((issue) => issue.message);
    expect(messages).toContain(
      'expected the Redis password (a string; use ${ENV_VAR} to keep it out of the file); found [redacted]',
    );
    expect(messages.join('\n')).not.toContain('123456789012');
    // A password quoted elsewhere (here as a user name written in the wrong place) is scrubbed too.
    const quoted = `${MINIMAL}redis:\n  cluster:\n    nodes: ["h:1", "cluster-pass-Secret1"]\n    password: cluster-pass-Secret1\n`;
    expect(JSON.stringify(issuesOf(quoted))).not.toContain('cluster-pass-Secret1');
  });
});

describe('config check shows the Redis mode, never a password', () => {
  it.each([
    [CLUSTER, 'cluster, 3 seed nodes, tls, nat map of 1 address, password set  prefix {qqwb}'],
    [
      SENTINEL,
      'sentinel, master mymaster, 2 Sentinels, tls, password set, sentinel password set  prefix {qqwb}',
    ],
    [
      `${MINIMAL}redis: { url: "rediss://user:url-pass-Secret4@redis.internal:6380/2?x=1" }\n`,
      'single, tls  rediss://[redacted]@redis.internal:6380/2?[redacted]  prefix {qqwb}',
    ],
  ])('%#', (text, line) => {
    const summary = summarizeConfig(parseConfig(text, FILE, {}));
    expect(summary).toContain(`  redis      ${line}`);
    expect(summary).not.toMatch(/pass-Secret/);
  });
});
