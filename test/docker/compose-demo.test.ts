/**
 * Static checks of docker-compose.yml's demo profile (the QQ simulator, a demo receiver and a one-shot event
 * emitter) and of config/compose-demo.yaml, the bridge config that goes with it. Read, not run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../src/config/index.js';
import {
  ROOT,
  bridgeServices,
  demoEnv,
  filledEnv,
  hostConfigPath,
  profileServices,
  read,
  services,
  volume,
  type Service,
} from './compose-file.js';

/** What the README tells the user to set with `--profile demo`. */
const DEMO_ENV = { QQWB_COMPOSE_CONFIG: 'compose-demo.yaml' };
const DEMO_CONFIG = 'config/compose-demo.yaml';

const simulator = services['simulator']!;
const demoReceiver = services['demo-receiver']!;
const demoEvents = services['demo-events']!;

const argAfter = (service: Service, flag: string): string | undefined => {
  const command = service.command ?? [];
  const index = command.indexOf(flag);
  return index === -1 ? undefined : command[index + 1];
};

/** The options `simulate` takes, read from its own help. */
function simulateOptions(): string[] {
  const help = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'simulate', '--help'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return [...help.stdout.matchAll(/(--[a-z-]+)/g)].map((m) => m[1]!);
}

const demoConfig = () => parseConfig(read(DEMO_CONFIG), DEMO_CONFIG, demoEnv());

describe('docker-compose.yml, profile demo', () => {
  it('adds the simulator, a demo receiver and the event emitter', () => {
    expect(profileServices('demo').sort()).toEqual(['demo-events', 'demo-receiver', 'simulator']);
  });

  it('runs `simulate` from the bridge image on every interface, with options the CLI has', () => {
    expect(simulator.build).toBe('.');
    expect(simulator.image).toBe(services['gateway']!.image);
    expect(simulator.command?.slice(0, 3)).toEqual(['node', 'dist/cli.js', 'simulate']);
    expect(argAfter(simulator, '--host')).toBe('0.0.0.0');
    const options = simulateOptions();
    for (const flag of (simulator.command ?? []).filter((part) => part.startsWith('--'))) {
      expect(options).toContain(flag);
    }
    const port = argAfter(simulator, '--port');
    expect(simulator.ports).toEqual([`127.0.0.1:${port}:${port}`]);
    expect(simulator.healthcheck?.test?.join(' ')).toContain(`http://127.0.0.1:${port}/_sim/state`);
  });

  it('points the bridge services at config/compose-demo.yaml, which passes the loader with .env.example', async () => {
    for (const name of bridgeServices) {
      const path = hostConfigPath(services[name]!, DEMO_ENV);
      expect(path).toBe(DEMO_CONFIG);
      expect(existsSync(`${ROOT}${path}`), path).toBe(true);
      // .env.example's placeholders are left as they are: the demo needs no bot, only REDIS_PASSWORD.
      await expect(loadConfig(`${ROOT}${path}`, demoEnv())).resolves.toBeDefined();
    }
  });

  it('gives the bridge the simulator as QQ, with the AppID and secret the simulator accepts', () => {
    const { qq } = demoConfig();
    const port = argAfter(simulator, '--port');
    const origin = `http://simulator:${port}`;
    expect(qq.tokenUrl).toBe(`${origin}/app/getAppAccessToken`);
    expect(qq.apiBase).toBe(origin);
    expect(qq.appId).toBe(argAfter(simulator, '--app-id'));
    expect(qq.clientSecret).toBe(argAfter(simulator, '--client-secret'));
  });

  it('delivers to the demo receiver, the Python sample verifying with the target secret', () => {
    const [target, ...others] = demoConfig().targets;
    expect(others).toEqual([]);
    const url = new URL(target!.url);
    expect(url.hostname).toBe('demo-receiver');
    expect(argAfter(demoReceiver, '--port')).toBe(url.port);
    expect(argAfter(demoReceiver, '--host')).toBe('0.0.0.0');
    expect(target!.allowPrivate).toBe(true);
    expect(demoReceiver.image).toBe(services['receiver']!.image);
    expect(demoReceiver.command).toEqual(services['receiver']!.command);
    expect(demoReceiver.volumes).toEqual(services['receiver']!.volumes);
    expect([demoReceiver.environment?.['WEBHOOK_SECRET']]).toEqual(target!.secrets);
  });

  it('emits into the simulator once it is healthy, with a script of this repo', () => {
    expect(demoEvents.image).toBe(services['gateway']!.image);
    expect(demoEvents.depends_on?.['simulator']?.condition).toBe('service_healthy');
    const mount = (demoEvents.volumes ?? [])
      .map(volume)
      .find((v) => demoEvents.command?.includes(v.container));
    expect(mount?.readOnly).toBe(true);
    expect(existsSync(`${ROOT}${mount!.host.replace(/^\.\//, '')}`)).toBe(true);
    expect(demoEvents.command?.at(-1)).toBe(`http://simulator:${argAfter(simulator, '--port')}`);
  });

  it('keeps everything but where QQ and the target are as in config/compose.yaml', () => {
    const rest = (path: string) => {
      const {
        qq,
        targets: _targets,
        source: _source,
        ...others
      } = parseConfig(read(path), path, filledEnv());
      const { appId: _appId, clientSecret: _secret, tokenUrl: _tokenUrl, apiBase: _apiBase, ...qqRest } = qq;
      return { qq: qqRest, ...others };
    };
    expect(rest(DEMO_CONFIG)).toEqual(rest('config/compose.yaml'));
  });

  const composeCli = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' });
  it.skipIf(composeCli.status !== 0)(
    'is accepted by `docker compose config` where Docker Compose is installed',
    () => {
      const run = spawnSync('docker', ['compose', '--profile', 'demo', 'config', '--services'], {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, ...demoEnv(), ...DEMO_ENV },
      });
      expect(run.status, run.stderr).toBe(0);
      expect(run.stdout.trim().split('\n')).toEqual(expect.arrayContaining(profileServices('demo')));
    },
  );
});
