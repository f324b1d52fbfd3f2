import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Ajv, type AnySchemaObject } from 'ajv';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { CONFIG_SCHEMA_PATH } from '../../src/config/json-schema.js';
import { schemaKeys } from '../../src/config/schema-keys.js';
import { configSchema } from '../../src/config/schema.js';
import { renderSchemas } from '../../scripts/write-schemas.js';
import { WHSEC } from './helpers.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const EXAMPLE = `${root}config/bridge.example.yaml`;
const EXAMPLE_ENV = {
  QQ_APP_ID: '102000000',
  QQ_CLIENT_SECRET: 'example-secret',
  BACKEND_WEBHOOK_SECRET: WHSEC,
};

/**
 * Options whose default is "not set" (no rate limit): any value written in the example would not be the default
 * (test/config/example-defaults.test.ts), so the example shows them in a comment.
 */
const COMMENTED_ONLY = ['targets[].rate_limit', 'targets[].rate_limit.max', 'targets[].rate_limit.per'];

/** Every key path of a parsed YAML value, lists as `[]`: `targets[].retry.base`. */
function keyPaths(value: unknown, prefix = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((item: unknown) => keyPaths(item, `${prefix}[]`));
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, child]) => {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    return [path, ...keyPaths(child, path)];
  });
}

async function committedSchema(): Promise<AnySchemaObject> {
  return JSON.parse(await readFile(`${root}${CONFIG_SCHEMA_PATH}`, 'utf8')) as AnySchemaObject;
}

describe('config/bridge.example.yaml', () => {
  it('loads with the variables it names', async () => {
    const config = await loadConfig(EXAMPLE, EXAMPLE_ENV);
    expect(config.qq).toMatchObject({ appId: '102000000', clientSecret: 'example-secret' });
    expect(config.targets.map((target) => target.id)).toEqual(['backend']);
    expect(config.server.adminToken).toBe('');
  });

  it('shows every key of the schema; keys of alternative forms and of unset options at least in a comment', async () => {
    const text = await readFile(EXAMPLE, 'utf8');
    const written = new Set(keyPaths(parse(text)));
    const keys = schemaKeys(configSchema);
    expect(keys.length).toBeGreaterThan(40);
    expect(
      keys
        .filter((key) => !key.alternative && !COMMENTED_ONLY.includes(key.path) && !written.has(key.path))
        .map((key) => key.path),
    ).toEqual([]);
    for (const path of COMMENTED_ONLY) {
      expect(written.has(path)).toBe(false);
      expect(text).toMatch(new RegExp(`^ *#.*\\b${path.split('.').at(-1) ?? path}: `, 'm'));
    }
    const alternatives = keys.filter((key) => key.alternative).map((key) => key.path);
    expect(alternatives).toEqual([
      'qq.shards.total',
      'qq.shards.ids',
      'redis.cluster',
      ...['nodes', 'username', 'password', 'tls', 'tls.ca_file', 'tls.servername', 'tls.reject_unauthorized']
        .concat(['nat_map'])
        .map((key) => `redis.cluster.${key}`),
      'redis.sentinel',
      ...['name', 'nodes', 'username', 'password', 'sentinel_username', 'sentinel_password', 'tls']
        .concat(['tls.ca_file', 'tls.servername', 'tls.reject_unauthorized'])
        .map((key) => `redis.sentinel.${key}`),
    ]);
    for (const path of alternatives) expect(text).toContain(`${path.split('.').at(-1) ?? path}:`);
  });

  it('starts with the yaml-language-server schema comment', async () => {
    const text = await readFile(EXAMPLE, 'utf8');
    expect(text.split('\n')[0]).toBe(`# yaml-language-server: $schema=../${CONFIG_SCHEMA_PATH}`);
  });
});

describe('schema/config.schema.json', () => {
  it('is what `npm run schema` generates from the zod schema', async () => {
    const rendered = (await renderSchemas()).find((schema) => schema.path === CONFIG_SCHEMA_PATH);
    expect(rendered).toBeDefined();
    expect(await readFile(`${root}${CONFIG_SCHEMA_PATH}`, 'utf8')).toBe(rendered?.text);
  });

  it('accepts the example as written, ${VAR} references included', async () => {
    const validate = new Ajv({ strict: true, allowUnionTypes: true, allErrors: true }).compile(
      await committedSchema(),
    );
    const valid = validate(parse(await readFile(EXAMPLE, 'utf8')));
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it.each([
    ['an unknown key', { qq: { app_id: 1, client_secret: 's', clientSecret: 's' } }],
    ['a missing required key', { qq: { app_id: 1 } }],
    ['a duration without unit', { qq: { app_id: 1, client_secret: 's' }, gateway: { lease_ttl: '10' } }],
    ['an unknown intent', { qq: { app_id: 1, client_secret: 's', intents: ['NOPE'] } }],
    ['an unknown mode', { qq: { app_id: 1, client_secret: 's', mode: 'http' } }],
    ['a relative webhook path', { qq: { app_id: 1, client_secret: 's', webhook: { path: 'qq/callback' } } }],
    [
      'a bad target id',
      { qq: { app_id: 1, client_secret: 's' }, targets: [{ id: 'A', url: 'https://a', secret: 'x' }] },
    ],
  ])('rejects %s, as the loader does', async (_name, data) => {
    const validate = new Ajv({ strict: true, allowUnionTypes: true }).compile(await committedSchema());
    expect(validate(data)).toBe(false);
  });
});
