/**
 * Hostile configuration text: whatever the file holds, `parseConfig` returns a frozen BridgeConfig or throws a
 * ConfigError whose every issue names the file and a path, with no stack trace. A bug inside the loader would
 * also surface as a ConfigError (the loader wraps what it did not expect), so that fallback message is allowed
 * only for the YAML parser's resource limits, which is what it is for.
 */
import fc from 'fast-check';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/config-error.js';
import { parseConfig } from '../../src/config/load.js';

const FILE = 'config/bridge.yaml';
const RUNS = 300;

/** The loader's wrapper for an exception it did not raise itself. */
const UNEXPECTED = /^could not read the configuration: /;
/** The parser limits that wrapper exists for (alias bombs). */
const RESOURCE_LIMIT = /alias/i;

function check(text: string, env: Record<string, string>): void {
  let config: unknown;
  let error: unknown;
  try {
    config = parseConfig(text, FILE, env);
  } catch (err) {
    error = err;
  }
  if (error === undefined) {
    expect(Object.isFrozen(config)).toBe(true);
    return;
  }
  expect(error).toBeInstanceOf(ConfigError);
  const { issues, message } = error as ConfigError;
  expect(issues.length).toBeGreaterThan(0);
  expect(message).not.toMatch(/\n\s+at /);
  for (const issue of issues) {
    expect(issue.file).toBe(FILE);
    expect(typeof issue.path).toBe('string');
    expect(issue.message).not.toBe('');
    expect(issue.message).not.toMatch(/\n\s+at |\bat \S+ \(\S+:\d+:\d+\)/);
    if (UNEXPECTED.test(issue.message)) expect(issue.message).toMatch(RESOURCE_LIMIT);
  }
}

const env = fc.dictionary(
  fc.constantFrom('VAR', 'QQ_APP_ID', 'QQ_CLIENT_SECRET', 'REDIS_URL', 'BACKEND_WEBHOOK_SECRET', 'EMPTY'),
  fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('', '${VAR}', '"', '\n', ': x', '10s', '3', 'true')),
  { maxKeys: 4 },
);

const KEYS = [
  'qq',
  'app_id',
  'client_secret',
  'token_url',
  'intents',
  'shards',
  'total',
  'ids',
  'redis',
  'url',
  'prefix',
  'server',
  'listen',
  'admin_token',
  'journal',
  'dir',
  'gateway',
  'delivery',
  'log',
  'level',
  'targets',
  '- id',
  'id',
  'secret',
  'events',
  'groups',
  'headers',
  'timeout',
  'concurrency',
  'rate_limit',
  'retry',
  'attempts',
  'include_raw',
  'allow_private',
  '<<',
  '? [a, b]',
  '"quoted key"',
  '__proto__',
  'constructor',
];

const VALUES = [
  '',
  '&a',
  '&a x',
  '*a',
  '*missing',
  '!!binary aGVsbG8=',
  '!!set',
  '!!omap',
  '!!timestamp 2001-12-14',
  '!!float 1e999',
  '!!int 0x1F',
  '!!str',
  '!custom tag',
  '${VAR}',
  '${VAR:-x}',
  '"${QQ_CLIENT_SECRET}"',
  '${',
  '${}',
  '${1BAD}',
  '"unterminated',
  "'single'",
  '[1, 2',
  '[a, b]',
  '{a: b}',
  '{',
  '|',
  '>-',
  '---',
  '...',
  '~',
  'null',
  'yes',
  '10s',
  '10 seconds',
  '-1',
  '1e999',
  '0x1F',
  '127.0.0.1:9464',
  'https://backend.example.com/qq',
  'http://127.0.0.1:9/hook',
  'redis://:pw@127.0.0.1:6379',
  'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  '[GROUP_AND_C2C_EVENT, 1, -5, nope]',
  '# comment',
  '\t',
];

/** One line of something YAML-like: indentation, a key from the schema, a separator and a tricky value. */
const yamlishLine = fc.oneof(
  {
    weight: 5,
    arbitrary: fc
      .tuple(
        fc.constantFrom('', '  ', '    ', '      ', ' ', '\t'),
        fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 8 })),
        fc.constantFrom(': ', ':', ' : ', ''),
        fc.oneof(fc.constantFrom(...VALUES), fc.string({ maxLength: 12 })),
      )
      .map(([indent, key, separator, value]) => `${indent}${key}${separator}${value}`),
  },
  { weight: 1, arbitrary: fc.constantFrom('---', '...', '%YAML 1.1', '%TAG ! tag:x:', '- ', '-', '? ', '') },
);

const yamlish = fc.array(yamlishLine, { minLength: 1, maxLength: 25 }).map((lines) => lines.join('\n'));

/** Plausible YAML: a config-shaped document whose every value can be anything JSON. */
const anyJson = fc.jsonValue({ depthSize: 'small' });
const configShaped = fc
  .record(
    {
      qq: fc.oneof(
        fc.record(
          { app_id: anyJson, client_secret: anyJson, intents: anyJson, shards: anyJson },
          { requiredKeys: [] },
        ),
        anyJson,
      ),
      redis: fc.oneof(fc.record({ url: anyJson, prefix: anyJson }, { requiredKeys: [] }), anyJson),
      server: fc.oneof(fc.record({ listen: anyJson, admin_token: anyJson }, { requiredKeys: [] }), anyJson),
      targets: fc.oneof(
        fc.array(
          fc.record(
            {
              id: fc.oneof(fc.constantFrom('backend', 'a-b', 'Bad Id', ''), anyJson),
              url: fc.oneof(fc.constantFrom(...VALUES), anyJson),
              secret: anyJson,
              events: anyJson,
              headers: anyJson,
              timeout: fc.oneof(fc.constantFrom('10s', '0ms', '-1s', '1y', '500'), anyJson),
              retry: anyJson,
              rate_limit: anyJson,
              allow_private: anyJson,
            },
            { requiredKeys: ['id'] },
          ),
          { maxLength: 3 },
        ),
        anyJson,
      ),
      unknown_section: anyJson,
    },
    { requiredKeys: [] },
  )
  .map((doc) => stringify(doc));

describe('parseConfig on hostile text (property)', () => {
  it('returns a config or a located ConfigError for any text', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), env, check), { numRuns: RUNS });
  });

  it('returns a config or a located ConfigError for YAML-ish text (anchors, tags, ${VAR}, broken flows)', () => {
    fc.assert(fc.property(yamlish, env, check), { numRuns: RUNS });
  });

  it('returns a config or a located ConfigError for any JSON value rendered as YAML', () => {
    fc.assert(
      fc.property(
        anyJson.map((value) => stringify(value)),
        env,
        check,
      ),
      { numRuns: RUNS },
    );
  });

  it('returns a config or a located ConfigError for config-shaped documents with anything as values', () => {
    fc.assert(fc.property(configShaped, env, check), { numRuns: RUNS });
  });

  it('reports an alias bomb as a ConfigError, not a hang or a crash', () => {
    const bomb = [
      'a: &a ["x","x","x","x","x","x","x","x","x"]',
      ...'bcdefghi'.split('').map((name, i) => {
        const previous = String.fromCharCode('a'.charCodeAt(0) + i);
        return `${name}: &${name} [${Array(9).fill(`*${previous}`).join(',')}]`;
      }),
      'qq: *i',
    ].join('\n');
    check(bomb, {});
    expect(() => parseConfig(bomb, FILE, {})).toThrow(ConfigError);
  });
});
