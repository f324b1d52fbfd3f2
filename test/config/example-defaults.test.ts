import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { parseDocument } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, type BridgeConfig } from '../../src/config/index.js';
import { WHSEC } from './helpers.js';

const EXAMPLE = fileURLToPath(new URL('../../config/bridge.example.yaml', import.meta.url));
const SOURCE = 'config/bridge.example.yaml';

/**
 * Only the variables whose values must be supplied. REDIS_URL and QQWB_ADMIN_TOKEN stay unset, so their
 * `${VAR:-default}` fallbacks are what is compared with the defaults.
 */
const EXAMPLE_ENV = {
  QQ_APP_ID: '102000000',
  QQ_CLIENT_SECRET: 'example-secret',
  BACKEND_WEBHOOK_SECRET: WHSEC,
};

/** Keys whose value must be supplied: leaving them out makes the configuration invalid or changes what it does. */
const SUPPLIED: Readonly<Record<string, string>> = {
  qq: 'holds app_id and client_secret',
  'qq.app_id': 'the bot AppID, from the QQ bot console',
  'qq.client_secret': 'the bot AppSecret, from the QQ bot console',
  targets: 'the example target: without it the bridge runs the gateway only',
  'targets[0].id': 'a target names its queue',
  'targets[0].url': 'where the target receives events',
  'targets[0].secret': "the target's signing secret",
  // The two are given together or not at all; leaving out outbound.rate_limit as a whole is compared.
  'outbound.rate_limit.max': 'given together with per',
  'outbound.rate_limit.per': 'given together with max',
};

type Segment = string | number;

/** Every mapping key in a parsed YAML value, outermost first; list items are walked into, not listed themselves. */
function keyPaths(value: unknown, prefix: readonly Segment[] = []): Segment[][] {
  if (Array.isArray(value))
    return value.flatMap((item: unknown, index) => keyPaths(item, [...prefix, index]));
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, child]) => {
    const path = [...prefix, key];
    return [path, ...keyPaths(child, path)];
  });
}

function shown(path: readonly Segment[]): string {
  return path
    .map((segment, index) =>
      typeof segment === 'number' ? `[${segment}]` : index === 0 ? segment : `.${segment}`,
    )
    .join('');
}

/** The example with the key at `path` left out, loaded as the bridge loads it. */
function loadedWithout(text: string, path: readonly Segment[]): BridgeConfig {
  const document = parseDocument(text);
  document.deleteIn(path);
  return parseConfig(String(document), SOURCE, EXAMPLE_ENV);
}

/** How the configuration changes when the key at `path` is left out; undefined when it does not. */
function changeWithout(text: string, path: readonly Segment[], asWritten: BridgeConfig): string | undefined {
  try {
    return isDeepStrictEqual(loadedWithout(text, path), asWritten) ? undefined : 'not the default';
  } catch (err) {
    if (err instanceof ConfigError) return `required: ${err.issues.map((issue) => issue.message).join('; ')}`;
    throw err;
  }
}

describe('config/bridge.example.yaml', () => {
  it('sets every key to the value the bridge uses when the key is left out', async () => {
    const text = await readFile(EXAMPLE, 'utf8');
    const asWritten = parseConfig(text, SOURCE, EXAMPLE_ENV);
    const paths = keyPaths(parseDocument(text).toJS());
    expect(paths.length).toBeGreaterThan(50);
    const written = paths.map(shown);
    expect(Object.keys(SUPPLIED).filter((key) => !written.includes(key))).toEqual([]);

    const changes = paths
      .filter((path) => SUPPLIED[shown(path)] === undefined)
      .map((path) => ({ key: shown(path), change: changeWithout(text, path, asWritten) }))
      .filter(({ change }) => change !== undefined);
    expect(changes).toEqual([]);
  });

  it('tells a value that is not the default from one that is', async () => {
    const text = await readFile(EXAMPLE, 'utf8');
    const changed = text.replace("events: ['*']", "events: ['group.*']");
    expect(changed).not.toBe(text);
    const events = ['targets', 0, 'events'];
    expect(changeWithout(text, events, parseConfig(text, SOURCE, EXAMPLE_ENV))).toBeUndefined();
    expect(changeWithout(changed, events, parseConfig(changed, SOURCE, EXAMPLE_ENV))).toBe('not the default');
  });
});
