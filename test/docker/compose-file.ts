/** docker-compose.yml, config/ and .env.example as the Docker tests read them: parsed, never run. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { expect } from 'vitest';
import { interpolate } from '../../src/config/interpolate.js';

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
