/**
 * Static checks of Dockerfile, docker-compose.yml, config/compose.yaml and .env.example. No Docker engine runs in
 * the test environment, so these files are verified by reading them: that they agree with the CLI, with the
 * config loader and with each other.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import {
  ROOT,
  bridgeServices,
  compose,
  defaultServices,
  filledEnv,
  hostConfigPath,
  read,
  services,
  volume,
} from './compose-file.js';
import { execForm, last, parseDockerfile } from './dockerfile.js';

const stages = parseDockerfile(read('Dockerfile'));
const runtime = stages.at(-1)!;

/** The `--role` choices the CLI offers, read from its own help. */
function cliRoles(): string[] {
  const help = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'run', '--help'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  const choices = /choices:\s*((?:"[^"]+",?\s*)+)/.exec(help.stdout)?.[1] ?? '';
  return [...choices.matchAll(/"([^"]+)"/g)].map((m) => m[1]!);
}

function loadComposeConfig() {
  const path = hostConfigPath(services['gateway']!);
  return parseConfig(read(path), path, filledEnv());
}

/** An exact release (`redis:7.4.2`, `python:3.12.8-slim`), not a tag that moves (`redis:7`, `latest`). */
const PINNED = /^[a-z0-9./-]+:\d+\.\d+\.\d+(-[a-z0-9.]+)?$/;

describe('Dockerfile', () => {
  it('builds in one stage with dev dependencies and runs node 20 slim in another, both on one pinned release', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(stages[0]!.instructions.some((i) => i.keyword === 'RUN' && /npm ci\b/.test(i.args))).toBe(true);
    expect(stages[0]!.instructions.some((i) => /npm run build/.test(i.args))).toBe(true);
    expect(runtime.image).toMatch(/^node:20\.\d+\.\d+-slim$/);
    for (const stage of stages) expect(stage.image).toBe(runtime.image);
    const copies = runtime.instructions.filter((i) => i.keyword === 'COPY').map((i) => i.args);
    expect(copies).toContain('--from=build /app/dist ./dist');
    expect(runtime.instructions.some((i) => /npm (ci|install)/.test(i.args))).toBe(false);
  });

  it('runs as the non-root node user', () => {
    expect(last(runtime, 'USER')?.args).toBe('node');
  });

  it('runs node under tini, and the entry command is node dist/cli.js', () => {
    expect(
      runtime.instructions.some((i) => i.keyword === 'RUN' && /apt-get install .*\btini\b/.test(i.args)),
    ).toBe(true);
    expect(execForm(last(runtime, 'ENTRYPOINT')?.args ?? '')).toEqual(['tini', '--']);
    expect(execForm(last(runtime, 'CMD')?.args ?? '')?.slice(0, 2)).toEqual(['node', 'dist/cli.js']);
  });

  it('checks health with node itself on the port server.listen binds, and exposes that port', () => {
    const check = last(runtime, 'HEALTHCHECK')?.args ?? '';
    const command = execForm(check.slice(check.indexOf('CMD') + 3).trim());
    expect(command?.[0]).toBe('node');
    expect(check).not.toMatch(/\b(curl|wget)\b/);
    const port = Number(/http:\/\/127\.0\.0\.1:(\d+)\/healthz/.exec(check)?.[1]);
    const { server } = loadComposeConfig();
    expect(port).toBe(server.port);
    expect(last(runtime, 'EXPOSE')?.args).toBe(String(server.port));
  });

  it('keeps secrets and local state out of the build context', () => {
    const ignored = read('.dockerignore').split('\n');
    for (const entry of ['.env', 'node_modules', 'dist', 'data', '.git']) expect(ignored).toContain(entry);
  });
});

describe('docker-compose.yml', () => {
  it('has redis, gateway, worker and receiver without a profile, reading config/compose.yaml', () => {
    expect(defaultServices().sort()).toEqual(['gateway', 'receiver', 'redis', 'worker']);
    for (const name of bridgeServices) expect(hostConfigPath(services[name]!)).toBe('config/compose.yaml');
  });

  it('runs Redis 7 with AOF and noeviction on a named volume', () => {
    const redis = services['redis']!;
    expect(redis.image).toMatch(/^redis:7\.\d+\.\d+$/);
    expect(redis.command?.join(' ')).toContain('--appendonly yes');
    expect(redis.command?.join(' ')).toContain('--maxmemory-policy noeviction');
    const data = (redis.volumes ?? []).map(volume).find((v) => v.container === '/data');
    expect(data).toBeDefined();
    expect(Object.keys(compose.volumes ?? {})).toContain(data!.host);
  });

  it('gives gateway and worker the CLI roles they are named for, with node dist/cli.js', () => {
    const roles = cliRoles();
    expect(roles).toEqual(expect.arrayContaining(['gateway', 'worker']));
    for (const name of bridgeServices) {
      const command = services[name]!.command ?? [];
      expect(command.slice(0, 3)).toEqual(['node', 'dist/cli.js', 'run']);
      expect(command.slice(3)).toEqual(['--role', name]);
      expect(roles).toContain(command[4]);
      expect(services[name]!.build, `${name} builds this repo's Dockerfile`).toBe('.');
      expect(services[name]!.depends_on?.['redis']?.condition).toBe('service_healthy');
    }
  });

  it('runs one gateway and keeps the worker scalable (no fixed name, no host port)', () => {
    expect(services['gateway']!.deploy?.replicas).toBe(1);
    const worker = services['worker']!;
    expect(worker.container_name).toBeUndefined();
    expect(worker.ports ?? []).toEqual([]);
    expect(worker.deploy?.replicas ?? 1).toBeGreaterThanOrEqual(1);
  });

  it('mounts a config that exists and passes the config loader with .env.example filled in', () => {
    for (const name of bridgeServices) {
      const path = hostConfigPath(services[name]!);
      expect(existsSync(`${ROOT}${path}`), path).toBe(true);
      expect(() => parseConfig(read(path), path, filledEnv())).not.toThrow();
    }
    for (const name of [...bridgeServices, 'receiver']) {
      const envFile = services[name]!.env_file;
      if (envFile !== undefined) expect([envFile].flat()).toEqual(['.env']);
    }
  });

  it('binds every interface inside the container and publishes the port on the host loopback only', () => {
    const { server } = loadComposeConfig();
    expect(server.host).toBe('0.0.0.0');
    expect(services['gateway']!.ports).toEqual([`127.0.0.1:${server.port}:${server.port}`]);
  });

  it('points the config at the compose services: Redis, the receiver, a journal on a volume', () => {
    const config = loadComposeConfig();
    expect(new URL(config.redis.url).hostname).toBe('redis');
    expect(config.redis.prefix).toMatch(/^\{[^{}]+\}$/);
    const target = new URL(config.targets[0]!.url);
    expect(target.hostname).toBe('receiver');
    const receiver = services['receiver']!;
    expect(receiver.command).toContain('0.0.0.0');
    expect(receiver.command?.[receiver.command.indexOf('--port') + 1]).toBe(target.port);
    const journal = (services['gateway']!.volumes ?? [])
      .map(volume)
      .find((v) => config.journal.dir.startsWith(v.container));
    expect(journal, 'the journal directory is on a volume').toBeDefined();
    expect(Object.keys(compose.volumes ?? {})).toContain(journal!.host);
  });

  it('runs the Python example receiver from this repo with the shared secret', () => {
    const receiver = services['receiver']!;
    const mount = (receiver.volumes ?? []).map(volume).find((v) => v.host === './examples/python');
    expect(mount?.readOnly).toBe(true);
    const script = receiver.command?.find((part) => part.endsWith('.py')) ?? '';
    expect(existsSync(`${ROOT}examples/python/${script.slice(mount!.container.length + 1)}`)).toBe(true);
    expect(receiver.environment?.['WEBHOOK_SECRET']).toMatch(/^\$\{BACKEND_WEBHOOK_SECRET\b/);
    expect(filledEnv()['BACKEND_WEBHOOK_SECRET']).toMatch(/^whsec_/);
  });

  it('pins every image to an exact release, but for the one this repo builds', () => {
    for (const [name, service] of Object.entries(services)) {
      if (service.build !== undefined) {
        expect(service.build, name).toBe('.');
        expect(service.image, name).toBe(services['gateway']!.image);
      } else {
        expect(service.image, name).toMatch(PINNED);
      }
    }
    for (const stage of stages) expect(stage.image).toMatch(PINNED);
  });

  it('lets the bridge services reach the host as host.docker.internal, as .env.example suggests', () => {
    expect(read('.env.example')).toContain('http://host.docker.internal:');
    for (const name of bridgeServices) {
      expect(services[name]!.extra_hosts).toContain('host.docker.internal:host-gateway');
    }
  });
});
