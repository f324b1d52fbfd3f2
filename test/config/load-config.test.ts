import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, resolveConfigPath } from '../../src/config/index.js';
import { MINIMAL } from './helpers.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qqwb-config-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function configError(promise: Promise<unknown>): Promise<ConfigError> {
  const err: unknown = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (!(err instanceof ConfigError)) throw new Error(`expected a ConfigError, got ${String(err)}`);
  return err;
}

describe('loadConfig', () => {
  it('reads, validates and returns the file, with its absolute path as source', async () => {
    const path = join(dir, 'ok.yaml');
    await writeFile(path, 'qq:\n  app_id: "1"\n  client_secret: "${CS}"\n');
    const config = await loadConfig(path, { CS: 'from-env' });
    expect(config.source).toBe(path);
    expect(config.qq.clientSecret).toBe('from-env');
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads process.env when no environment is passed', async () => {
    const path = join(dir, 'process-env.yaml');
    await writeFile(path, 'qq:\n  app_id: "1"\n  client_secret: "${QQWB_CONFIG_TEST_SECRET}"\n');
    process.env['QQWB_CONFIG_TEST_SECRET'] = 'from-process-env';
    try {
      expect((await loadConfig(path)).qq.clientSecret).toBe('from-process-env');
    } finally {
      delete process.env['QQWB_CONFIG_TEST_SECRET'];
    }
  });

  it('names the file as given in issues', async () => {
    const path = join(dir, 'bad.yaml');
    await writeFile(path, `${MINIMAL}log: { level: loud }\n`);
    const err = await configError(loadConfig(path, {}));
    expect(err.issues).toEqual([
      {
        file: path,
        line: 4,
        column: 15,
        path: 'log.level',
        message: 'expected one of fatal, error, warn, info, debug, trace; found "loud"',
      },
    ]);
  });

  it('says how to create a missing file', async () => {
    const path = join(dir, 'missing', 'bridge.yaml');
    const err = await configError(loadConfig(path, {}));
    expect(err.code).toBe('BRIDGE_ERR_CONFIG');
    expect(err.issues).toHaveLength(1);
    expect(err.issues[0]?.file).toBe(path);
    expect(err.issues[0]?.message).toMatch(
      new RegExp(
        `^config file not found; create one from the example: cp \\S*config/bridge\\.example\\.yaml ${path}`,
      ),
    );
  });

  it('reports a directory given as the file', async () => {
    const path = join(dir, 'a-directory');
    await mkdir(path);
    const err = await configError(loadConfig(path, {}));
    expect(err.issues[0]?.message).toBe(
      'expected a file, found a directory; point --config / QQWB_CONFIG at the YAML file',
    );
  });
});

describe('resolveConfigPath', () => {
  it.each([
    ['--config wins over QQWB_CONFIG', 'cli.yaml', { QQWB_CONFIG: 'env.yaml' }, 'cli.yaml'],
    ['QQWB_CONFIG when no --config', undefined, { QQWB_CONFIG: 'env.yaml' }, 'env.yaml'],
    ['the default when neither', undefined, {}, 'config/bridge.yaml'],
    ['an empty --config counts as absent', '', { QQWB_CONFIG: 'env.yaml' }, 'env.yaml'],
    ['an empty QQWB_CONFIG counts as absent', undefined, { QQWB_CONFIG: '' }, 'config/bridge.yaml'],
  ])('%s', (_name, cli, env: Record<string, string>, expected) => {
    expect(resolveConfigPath(cli, env)).toBe(expected);
  });
});
