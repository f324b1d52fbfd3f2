/**
 * Static checks of docker-compose.yml's sentinel profile (a master, a replica and a Sentinel) and of the bridge
 * config that goes with it, config/compose-sentinel.yaml. Read, not run: no Docker engine in the test environment.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../src/config/index.js';
import {
  REDIS_PASSWORD,
  ROOT,
  bridgeServices,
  filledEnv,
  hostConfigPath,
  profileServices,
  read,
  services,
  volume,
  type Service,
} from './compose-file.js';

/** What the README tells the user to set with `--profile sentinel`. */
const SENTINEL_ENV = { QQWB_COMPOSE_CONFIG: 'compose-sentinel.yaml' };

const master = services['redis-master']!;
const replica = services['redis-replica']!;
const sentinel = services['redis-sentinel']!;

/** The value following `flag` in a command. */
const argAfter = (service: Service, flag: string): string | undefined => {
  const command = service.command ?? [];
  const index = command.indexOf(flag);
  return index === -1 ? undefined : command[index + 1];
};

/** The Sentinel's config file on the host, through its read-only mount at the path its command copies from. */
function sentinelConfPath(): string {
  const script = sentinel.command?.join(' ') ?? '';
  const copied = /cp (\S+) (\S+);/.exec(script);
  expect(copied, 'the command copies the mounted config to a writable place').not.toBeNull();
  expect(script).toMatch(new RegExp(`redis-server ${copied![2]} --sentinel$`));
  const mount = (sentinel.volumes ?? []).map(volume).find((v) => v.container === copied![1]);
  expect(mount?.readOnly).toBe(true);
  return mount!.host.replace(/^\.\//, '');
}

/** The directives of the Sentinel's config, one array of words per line. */
function sentinelConf(): string[][] {
  return read(sentinelConfPath())
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => line.split(/\s+/));
}

function monitor(): { name: string; host: string; port: number; quorum: number } {
  const lines = sentinelConf().filter((words) => words[0] === 'sentinel' && words[1] === 'monitor');
  expect(lines).toHaveLength(1);
  const [, , name = '', host = '', port, quorum] = lines[0]!;
  return { name, host, port: Number(port), quorum: Number(quorum) };
}

function sentinelPort(): number {
  return Number(sentinelConf().find((words) => words[0] === 'port')?.[1]);
}

describe('docker-compose.yml, profile sentinel', () => {
  it('adds a master, a replica and a Sentinel on the Redis image of the default stack', () => {
    expect(profileServices('sentinel').sort()).toEqual(['redis-master', 'redis-replica', 'redis-sentinel']);
    for (const node of [master, replica, sentinel]) expect(node.image).toBe(services['redis']!.image);
    expect(sentinel.command?.join(' ')).toContain('--sentinel');
    for (const node of [master, replica]) {
      expect(node.command?.[0]).toBe('redis-server');
      expect(node.command?.join(' ')).toContain('--appendonly yes');
      expect(node.command?.join(' ')).toContain('--maxmemory-policy noeviction');
    }
  });

  it('replicates redis-replica from the master the Sentinel monitors, and announces both by service name', () => {
    const watched = monitor();
    expect(profileServices('sentinel')).toContain(watched.host);
    expect(services[watched.host]).toBe(master);
    expect(argAfter(master, '--port') ?? '6379').toBe(String(watched.port));
    expect(argAfter(replica, '--replicaof')).toBe(watched.host);
    expect(replica.command?.[replica.command.indexOf('--replicaof') + 2]).toBe(String(watched.port));
    expect(argAfter(master, '--replica-announce-ip')).toBe('redis-master');
    expect(argAfter(replica, '--replica-announce-ip')).toBe('redis-replica');
    for (const node of [replica, sentinel]) {
      expect(node.depends_on?.['redis-master']?.condition).toBe('service_healthy');
    }
  });

  it('runs one Sentinel with a quorum it can reach, resolving service names before it monitors one', () => {
    const conf = sentinelConf();
    const watched = monitor();
    expect(watched.name).toMatch(/^[A-Za-z0-9_.-]+$/);
    expect(watched.quorum).toBe(1);
    const resolve = conf.findIndex((words) => words.join(' ') === 'sentinel resolve-hostnames yes');
    const monitorLine = conf.findIndex((words) => words[1] === 'monitor');
    expect(resolve).toBeGreaterThanOrEqual(0);
    expect(resolve).toBeLessThan(monitorLine);
    expect(sentinel.healthcheck?.test).toEqual([
      'CMD-SHELL',
      `redis-cli -p ${sentinelPort()} ping | grep -q PONG`,
    ]);
  });

  it('points the bridge at the Sentinel by the master name it monitors, and the config passes the loader', async () => {
    for (const name of bridgeServices) {
      const path = hostConfigPath(services[name]!, SENTINEL_ENV);
      expect(path).toBe('config/compose-sentinel.yaml');
      expect(existsSync(`${ROOT}${path}`), path).toBe(true);
      const { redis } = await loadConfig(`${ROOT}${path}`, filledEnv());
      expect(redis.connection).toEqual({
        kind: 'sentinel',
        name: monitor().name,
        nodes: [{ host: 'redis-sentinel', port: sentinelPort() }],
        password: REDIS_PASSWORD,
        sentinelPassword: REDIS_PASSWORD,
      });
      // WAIT for no more replicas than the profile runs, or every event would go through the journal.
      expect(redis.minReplicas).toBe(
        profileServices('sentinel').filter((s) => s.endsWith('-replica')).length,
      );
    }
  });

  it('keeps everything but redis as in config/compose.yaml', () => {
    const withoutRedis = (path: string) => {
      const { redis, source, ...rest } = parseConfig(read(path), path, filledEnv());
      expect(redis.prefix).toBe('{qqwb}');
      expect(source).toBe(path);
      return rest;
    };
    expect(withoutRedis('config/compose-sentinel.yaml')).toEqual(withoutRedis('config/compose.yaml'));
  });

  const composeCli = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' });
  it.skipIf(composeCli.status !== 0)(
    'is accepted by `docker compose config` where Docker Compose is installed',
    () => {
      const run = (args: string[]) =>
        spawnSync('docker', ['compose', ...args, 'config', '--services'], {
          cwd: ROOT,
          encoding: 'utf8',
          env: { ...process.env, ...filledEnv() },
        });
      const plain = run([]);
      expect(plain.status, plain.stderr).toBe(0);
      expect(plain.stdout.trim().split('\n').sort()).toEqual(['gateway', 'receiver', 'redis', 'worker']);
      const profiled = run(['--profile', 'sentinel']);
      expect(profiled.status, profiled.stderr).toBe(0);
      expect(profiled.stdout).toMatch(/redis-sentinel/);
    },
  );
});
