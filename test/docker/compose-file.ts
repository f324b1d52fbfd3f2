/** docker-compose.yml, config/ and .env.example as the Docker tests read them: parsed, never run. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { expect } from 'vitest';
import { interpolate } from '../../src/config/interpolate.js';
import { ENV_EXAMPLE_PLACEHOLDERS } from '../../src/config/placeholders.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const read = (path: string): string => readFileSync(`${ROOT}${path}`, 'utf8');

export interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  env_file?: string | string[];
  volumes?: string[];
  ports?: string[];
  deploy?: { replicas?: number };
  container_name?: string;
  healthcheck?: { test?: string[] };
  depends_on?: Record<string, { condition?: string }>;
  profiles?: string[];
  extra_hosts?: string[];
}

export const compose = parse(read('docker-compose.yml'), { merge: true }) as {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
};
export const services = compose.services;

/** The services `docker compose up` starts without `--profile`. */
export const defaultServices = (): string[] =>
  Object.keys(services).filter((name) => (services[name]!.profiles ?? []).length === 0);

/** The services `--profile <profile>` adds. */
export const profileServices = (profile: string): string[] =>
  Object.keys(services).filter((name) => services[name]!.profiles?.includes(profile));

/** KEY=VALUE lines of .env.example, as `docker compose` reads them. */
export function envExample(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of read('.env.example').split('\n')) {
    const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (match) env[match[1]!] = match[2]!;
  }
  return env;
}

/** A Redis password as `openssl rand -hex 24` makes one. */
export const REDIS_PASSWORD = '3f9c2a7be41d08c6f5a2e9b7d3c1f0a84e6b2d9c7a5f3e1b';

/** .env.example with only REDIS_PASSWORD filled in: enough for the demo profile, which needs no bot. */
export function demoEnv(): Record<string, string> {
  return { ...envExample(), REDIS_PASSWORD };
}

/** .env.example filled in as the user is told to: every placeholder replaced, REDIS_PASSWORD set. */
export function filledEnv(): Record<string, string> {
  const env = demoEnv();
  for (const { variable } of ENV_EXAMPLE_PLACEHOLDERS) {
    env[variable] = variable.includes('WEBHOOK')
      ? 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
      : 'a-real-app-secret-0123';
  }
  return env;
}

/**
 * A value of docker-compose.yml after compose substitutes `${VAR}`, `${VAR:-default}` and `${VAR:?error}` from
 * `env`; `$$` is a literal `$`. Throws with the error text where compose would refuse to start.
 */
export function composeValue(text: string, env: Record<string, string>): string {
  return text.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([-?])([^}]*))?\}/g,
    (_match, name?: string, op?: string, arg?: string) => {
      if (name === undefined) return '$';
      const value = env[name] ?? '';
      if (value !== '') return value;
      if (op === '?') throw new Error(`compose refuses to start: ${arg}`);
      return op === '-' ? (arg ?? '') : '';
    },
  );
}

/** The CONTAINER path a `host:container[:ro]` volume maps, with its host side and mode. */
export function volume(spec: string): { host: string; container: string; readOnly: boolean } {
  const [host = '', container = '', mode] = spec.split(':');
  return { host, container, readOnly: mode === 'ro' };
}

export const bridgeServices = ['gateway', 'worker'] as const;

/** A bridge service's QQWB_CONFIG after compose substitutes `${VAR:-default}` from `composeEnv`. */
export function configFor(service: Service, composeEnv: Record<string, string> = {}): string {
  const { value, errors } = interpolate(service.environment?.['QQWB_CONFIG'] ?? '', composeEnv);
  expect(errors).toEqual([]);
  return value;
}

/** The config file a bridge service reads, as a host path, through its read-only config mount. */
export function hostConfigPath(service: Service, composeEnv: Record<string, string> = {}): string {
  const path = configFor(service, composeEnv);
  const mount = (service.volumes ?? []).map(volume).find((v) => path.startsWith(`${v.container}/`));
  expect(mount, `a volume holding ${path}`).toBeDefined();
  expect(mount!.readOnly, 'config mounted read-only').toBe(true);
  return `${mount!.host.replace(/^\.\//, '')}${path.slice(mount!.container.length)}`;
}
