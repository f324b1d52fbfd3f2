/**
 * docker-compose.yml's Redis password in every profile: each node requires REDIS_PASSWORD from .env, health checks
 * and `redis-cli` authenticate with it, and each bridge config reaches Redis with it. Read, not run.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import {
  REDIS_PASSWORD,
  composeValue,
  configFor,
  envExample,
  filledEnv,
  hostConfigPath,
  read,
  services,
  type Service,
} from './compose-file.js';

/** Every Redis node of every profile: the services on the Redis image. */
const redisNodes = Object.entries(services).filter(([, service]) => service.image?.startsWith('redis:'));
const sentinelName = 'redis-sentinel';
const dataNodes = redisNodes.filter(([name]) => name !== sentinelName);

/** The value after `flag` in a node's command, as compose substitutes it from `env`. */
function argAfter(service: Service, flag: string, env: Record<string, string>): string | undefined {
  const command = service.command ?? [];
  const index = command.indexOf(flag);
  return index === -1 ? undefined : composeValue(command[index + 1] ?? '', env);
}

/** The config a bridge service reads with QQWB_COMPOSE_CONFIG set as the profile's README line sets it. */
function bridgeConfig(composeConfig: string | undefined) {
  const composeEnv = composeConfig === undefined ? {} : { QQWB_COMPOSE_CONFIG: composeConfig };
  const path = hostConfigPath(services['gateway']!, composeEnv);
  expect(configFor(services['worker']!, composeEnv)).toBe(configFor(services['gateway']!, composeEnv));
  return parseConfig(read(path), path, filledEnv());
}

describe('docker-compose.yml, the Redis password', () => {
  it('is required of every node, in every profile, from REDIS_PASSWORD', () => {
    expect(dataNodes.map(([name]) => name).sort()).toEqual(['redis', 'redis-master', 'redis-replica']);
    for (const [name, node] of dataNodes) {
      expect(argAfter(node, '--requirepass', filledEnv()), name).toBe(REDIS_PASSWORD);
    }
    // The nodes that replicate, or become replicas after a failover, authenticate to their master too.
    for (const name of ['redis-master', 'redis-replica']) {
      expect(argAfter(services[name]!, '--masterauth', filledEnv()), name).toBe(REDIS_PASSWORD);
    }
  });

  it('stops compose, with how to make one, while .env leaves it empty', () => {
    expect(envExample()['REDIS_PASSWORD']).toBe('');
    expect(read('.env.example')).toMatch(/openssl rand -hex \d+\n(?:#.*\n)*REDIS_PASSWORD=\n/);
    for (const [name, node] of dataNodes) {
      expect(() => argAfter(node, '--requirepass', envExample()), name).toThrow(/openssl rand -hex/);
    }
  });

  it('authenticates redis-cli and the health checks of every node (REDISCLI_AUTH)', () => {
    for (const [name, node] of redisNodes) {
      expect(composeValue(node.environment?.['REDISCLI_AUTH'] ?? '', filledEnv()), name).toBe(REDIS_PASSWORD);
      const [kind, check = ''] = node.healthcheck?.test ?? [];
      expect(kind, name).toBe('CMD-SHELL');
      // redis-cli exits 0 on an error reply (NOAUTH) too: the check must look for the PONG.
      expect(check, name).toMatch(/^redis-cli (-p \d+ )?ping \| grep -q PONG$/);
    }
  });

  it('gives the Sentinel the password of the master it monitors, and its own', () => {
    const script = composeValue(services[sentinelName]!.command?.join(' ') ?? '', filledEnv());
    const conf = read('config/redis-sentinel.conf');
    const master = /^sentinel monitor (\S+) /m.exec(conf)?.[1];
    expect(master).toBe('qqwb');
    // Appended at each start, after the monitor line, once: earlier copies are deleted first.
    expect(script).toContain(`sed -i -e '/^sentinel auth-pass ${master} /d' -e '/^requirepass /d'`);
    expect(script).toContain(
      `printf 'sentinel auth-pass ${master} %s\\nrequirepass %s\\n' "$REDISCLI_AUTH" "$REDISCLI_AUTH"`,
    );
    // The mounted file holds no password: it is in the repo.
    expect(conf).not.toMatch(/^(sentinel auth-pass|requirepass)/m);
  });

  it("is in the redis settings of each profile's bridge config", () => {
    for (const profile of [undefined, 'compose-demo.yaml']) {
      const { connection } = bridgeConfig(profile).redis;
      expect(connection.kind, profile).toBe('single');
      const url = new URL(connection.kind === 'single' ? connection.url : '');
      expect(url.hostname).toBe('redis');
      expect(decodeURIComponent(url.password)).toBe(REDIS_PASSWORD);
    }
    const { connection } = bridgeConfig('compose-sentinel.yaml').redis;
    expect(connection.kind === 'sentinel' && [connection.password, connection.sentinelPassword]).toEqual([
      REDIS_PASSWORD,
      REDIS_PASSWORD,
    ]);
  });
});
