import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { interpolate, isSensitiveVariable } from '../../src/config/interpolate.js';
import { FILE, MINIMAL, WITH_TARGET, issuesOf, shown } from './helpers.js';

describe('interpolate', () => {
  it.each([
    ['set', '${A}', { A: 'x' }, 'x'],
    ['set, in text', 'pre-${A}-post', { A: 'x' }, 'pre-x-post'],
    ['set, default unused', '${A:-d}', { A: 'x' }, 'x'],
    ['unset, default', '${A:-d}', {}, 'd'],
    ['empty, default (as bash :-)', '${A:-d}', { A: '' }, 'd'],
    ['empty, no default', '${A}', { A: '' }, ''],
    ['empty default', '${A:-}', {}, ''],
    ['default with : and /', '${A:-redis://h:6379/0}', {}, 'redis://h:6379/0'],
    ['escape', '$${A}', { A: 'x' }, '${A}'],
    ['escape next to a reference', '$${A}${A}', { A: 'x' }, '${A}x'],
    ['lone dollar', 'pa$$word $5', {}, 'pa$$word $5'],
    ['two references', '${A}:${B}', { A: 'h', B: '1' }, 'h:1'],
    ['value is not re-interpolated', '${A}', { A: '${B}' }, '${B}'],
  ])('%s: %j → %j', (_name, text, env: Record<string, string>, expected) => {
    const result = interpolate(text, env);
    expect(result.value).toBe(expected);
    expect(result.missing).toEqual([]);
    expect(result.errors).toEqual([]);
  });

  it('lists every missing variable, and no default means missing even when others are set', () => {
    expect(interpolate('${A}/${B}/${C:-c}', { A: 'a' })).toMatchObject({
      value: 'a//c',
      missing: ['B'],
      variables: ['A', 'B', 'C'],
    });
  });

  it.each([
    ['${A', 'unterminated ${ (no closing }); close the reference, or write $${ for a literal ${'],
    [
      '${1A}',
      'malformed reference ${1A}: expected ${NAME} or ${NAME:-default} where NAME is letters, digits and _ (not ' +
        'starting with a digit); write $${ for a literal ${',
    ],
    [
      '${A-x}',
      'malformed reference ${A-x}: expected ${NAME} or ${NAME:-default} where NAME is letters, digits and _ (not ' +
        'starting with a digit); write $${ for a literal ${',
    ],
  ])('reports %j as malformed', (text, message) => {
    expect(interpolate(text, { A: 'a' }).errors).toEqual([message]);
  });

  it.each([
    ['QQ_CLIENT_SECRET', true],
    ['QQWB_ADMIN_TOKEN', true],
    ['DB_PASSWORD', true],
    ['STRIPE_API_KEY', true],
    ['REDIS_URL', false],
    ['QQ_APP_ID', false],
    ['KEYBOARD', false],
  ])('%s is sensitive: %s', (name, sensitive) => {
    expect(isSensitiveVariable(name)).toBe(sensitive);
  });
});

describe('${VAR} in the configuration file', () => {
  const secretFile = (value: string) => `qq:\n  app_id: "1"\n  client_secret: ${value}\n`;

  it('substitutes set variables and defaults', () => {
    const config = parseConfig(
      `${secretFile('"${CS}"')}redis:\n  url: "\${REDIS_URL:-redis://127.0.0.1:6379}"\n  prefix: "{\${PREFIX:-qqwb}}"\n`,
      FILE,
      { CS: 'from-env', PREFIX: 'prod' },
    );
    expect(config.qq.clientSecret).toBe('from-env');
    expect(config.redis).toEqual({
      url: 'redis://127.0.0.1:6379',
      connection: { kind: 'single', url: 'redis://127.0.0.1:6379' },
      prefix: '{prod}',
      minReplicas: 0,
      replicaWaitTimeoutMs: 500,
    });
  });

  it('works on parsed values, so a # or quote from the environment is data, not YAML', () => {
    const env = { CS: 'a # not a comment "quoted" \'too\'' };
    expect(parseConfig(secretFile('${CS}'), FILE, env).qq.clientSecret).toBe(env.CS);
    expect(parseConfig(secretFile('"${CS}"'), FILE, env).qq.clientSecret).toBe(env.CS);
  });

  it('keeps $${ as a literal ${', () => {
    expect(parseConfig(secretFile('"$${NOT_A_VARIABLE}"'), FILE, {}).qq.clientSecret).toBe(
      '${NOT_A_VARIABLE}',
    );
  });

  it('gives an empty admin token when QQWB_ADMIN_TOKEN is set but empty or unset', () => {
    const text = `${MINIMAL}server: { admin_token: "\${QQWB_ADMIN_TOKEN:-}" }\n`;
    expect(parseConfig(text, FILE, {}).server.adminToken).toBe('');
    expect(parseConfig(text, FILE, { QQWB_ADMIN_TOKEN: '' }).server.adminToken).toBe('');
    expect(parseConfig(text, FILE, { QQWB_ADMIN_TOKEN: 'admin-token-1' }).server.adminToken).toBe(
      'admin-token-1',
    );
  });

  it('reads an unquoted reference as the number or boolean it spells, a quoted one as a string', () => {
    const text = `${WITH_TARGET}    concurrency: \${CONCURRENCY:-4}\n    include_raw: \${RAW}\n`;
    const target = parseConfig(text, FILE, { RAW: 'true' }).targets[0];
    expect(target).toMatchObject({ concurrency: 4, includeRaw: true });
    expect(shown(issuesOf(`${WITH_TARGET}    concurrency: "\${CONCURRENCY:-4}"\n`))).toEqual([
      '8:18 targets[0].concurrency: expected a positive integer; found "4"',
    ]);
  });

  it('keeps an unquoted app id from the environment exact', () => {
    expect(
      parseConfig('qq:\n  app_id: ${ID}\n  client_secret: s\n', FILE, { ID: '102000000' }).qq.appId,
    ).toBe('102000000');
  });

  it('explains that ${VAR} needs quotes inside a flow mapping', () => {
    expect(shown(issuesOf('qq: { app_id: ${ID}, client_secret: s }\n'))).toEqual([
      '1:16 : YAML syntax: Unexpected flow-map-start at node end; inside { } or [ ], quote values that hold ${…}: ' +
        '"${VAR}"',
    ]);
  });

  it('reports a missing variable with its name, the YAML path and line, and how to fix it', () => {
    expect(shown(issuesOf(secretFile('"${QQ_CLIENT_SECRET}"')))).toEqual([
      '3:18 qq.client_secret: environment variable QQ_CLIENT_SECRET is not set; set QQ_CLIENT_SECRET in the ' +
        'environment or give a default: ${QQ_CLIENT_SECRET:-…}',
    ]);
  });

  it('reports every missing variable of a file, inside lists too', () => {
    const text = `${MINIMAL}targets:\n  - id: a\n    url: "\${A_URL}"\n    secret: ["\${OLD}", "\${NEW}"]\n`;
    expect(shown(issuesOf(text)).map((line) => line.slice(0, line.indexOf(' is not set')))).toEqual([
      '6:10 targets[0].url: environment variable A_URL',
      '7:14 targets[0].secret[0]: environment variable OLD',
      '7:24 targets[0].secret[1]: environment variable NEW',
    ]);
  });

  it('reports a malformed reference located', () => {
    expect(shown(issuesOf(secretFile('"${QQ CLIENT SECRET}"')))).toEqual([
      '3:18 qq.client_secret: malformed reference ${QQ CLIENT SECRET}: expected ${NAME} or ${NAME:-default} ' +
        'where NAME is letters, digits and _ (not starting with a digit); write $${ for a literal ${',
    ]);
  });

  it('does not interpolate keys', () => {
    expect(shown(issuesOf(`${MINIMAL}\${SECTION}: {}\n`, { SECTION: 'redis' }))).toEqual([
      '4:1 ["${SECTION}"]: unknown key "${SECTION}"; expected one of: qq, redis, server, journal, gateway, delivery, ' +
        'outbound, log, targets',
    ]);
  });
});
