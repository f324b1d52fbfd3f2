import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { configWarnings, summarizeConfig } from '../../src/commands/config-check.js';
import { parseConfig } from '../../src/config/index.js';
import { filledEnv } from '../docker/compose-file.js';
import { testConfig, testTarget } from '../helpers/config.js';

const COMPOSE_CONFIG = fileURLToPath(new URL('../../config/compose.yaml', import.meta.url));
/** .env.example filled in as the README tells the user to (placeholders replaced, REDIS_PASSWORD set). */
const COMPOSE_ENV = filledEnv();

const PLAIN_HTTP = 'is plain http to a host that is not known to be private';

describe('config check: plain http to a target that declares its host internal', () => {
  it('does not warn about config/compose.yaml, whose receiver target sets allow_private: true', () => {
    const config = parseConfig(readFileSync(COMPOSE_CONFIG, 'utf8'), COMPOSE_CONFIG, COMPOSE_ENV);
    expect(config.targets.map((t) => [t.url, t.allowPrivate])).toEqual([
      ['http://receiver:8000/webhook', true],
    ]);
    expect(configWarnings(config)).toEqual([]);
    expect(summarizeConfig(config).split('\n').at(-1)).toBe('  warnings   none');
  });

  it('still warns about the same host name without allow_private, and about a public IP literal with it', () => {
    const warnings = configWarnings(
      testConfig({
        prefix: '{qqwb}',
        targets: [
          testTarget({ id: 'undeclared', url: 'http://receiver:8000/webhook', allowPrivate: false }),
          testTarget({ id: 'declared', url: 'http://receiver:8000/webhook', allowPrivate: true }),
          testTarget({ id: 'public-ip', url: 'http://93.184.215.14/hook', allowPrivate: true }),
        ],
      }),
    );
    expect(warnings).toEqual([
      `target "undeclared": http://receiver:8000 ${PLAIN_HTTP}; payloads (message content) and signatures ` +
        'travel in clear — use https://',
      `target "public-ip": http://93.184.215.14 ${PLAIN_HTTP}; payloads (message content) and signatures ` +
        'travel in clear — use https://',
    ]);
  });
});
