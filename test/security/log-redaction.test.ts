import { describe, expect, it } from 'vitest';
import { redactUrlCredentials } from '../../src/log.js';
import { onRedisUrl, testConfig, testTarget } from '../helpers/config.js';
import { captureLogger } from '../server/fixtures.js';

/** The logger's output, as text to search and as parsed lines. */
function capture(): ReturnType<typeof captureLogger> & { text: () => string } {
  const captured = captureLogger('debug');
  return {
    ...captured,
    text: () =>
      captured
        .lines()
        .map((line) => JSON.stringify(line))
        .join('\n'),
  };
}

const SECRETS = [
  'whsec_c2VjcmV0LWtleS1ieXRlcw==',
  'raw-S3cret-1',
  'Bearer hdr-T0ken',
  'cl1ent-S3cret',
  'adm1n-T0k',
];

describe('the root logger', () => {
  it('hides secret fields and header values at any depth, even when a whole config is logged', () => {
    const { logger, text, lines } = capture();
    const target = testTarget({
      id: 't',
      url: 'https://bridge:urlPassw0rd@hooks.example.com/qq?token=qTok3n&team=a',
      secrets: ['whsec_c2VjcmV0LWtleS1ieXRlcw==', 'raw-S3cret-1'],
      headers: { Authorization: 'Bearer hdr-T0ken', 'X-Env': 'prod' },
    });
    const base = testConfig({ prefix: '{p}', clientSecret: 'cl1ent-S3cret', targets: [target] });
    const config = {
      ...base,
      server: { ...base.server, adminToken: 'adm1n-T0k' },
      redis: onRedisUrl(base, 'redis://:redisPassw0rd@127.0.0.1:6379').redis,
    };
    logger.info({ config }, 'whole config');
    logger.info({ targets: [target] }, 'targets');
    logger.child({ target }).warn({ attempt: 1 }, 'child bindings');
    logger.info(
      { frame: { op: 2, d: { token: 'QQBot acc3ssTok' } }, client_secret: 'cl1ent-S3cret' },
      'frame',
    );

    const out = text();
    for (const secret of [...SECRETS, 'urlPassw0rd', 'qTok3n', 'redisPassw0rd', 'acc3ssTok']) {
      expect(out).not.toContain(secret);
    }
    const [whole, , child] = lines();
    // What is not secret stays readable: ids, header names, the non-secret parts of URLs.
    expect(whole).toMatchObject({
      config: {
        qq: { clientSecret: '[redacted]', appId: '102000000' },
        server: { adminToken: '[redacted]' },
        redis: { url: 'redis://[redacted]@127.0.0.1:6379' },
        targets: [
          {
            id: 't',
            url: 'https://[redacted]@hooks.example.com/qq?token=[redacted]&team=a',
            secrets: '[redacted]',
            headers: { Authorization: '[redacted]', 'X-Env': '[redacted]' },
          },
        ],
      },
    });
    expect(child).toMatchObject({ target: { id: 't', secrets: '[redacted]' }, attempt: 1 });
    // The caller's objects are not touched.
    expect(target.secrets).toEqual(['whsec_c2VjcmV0LWtleS1ieXRlcw==', 'raw-S3cret-1']);
  });

  it('removes URL credentials from messages and error texts, keeping every line valid JSON', () => {
    const { logger, text, lines } = capture();
    logger.error(
      { err: 'connect ECONNREFUSED for redis://default:s3cretPw@10.0.0.5:6379/0' },
      'cannot reach https://u:p4ssw0rd@h.example/x?api_key=k3y"quoted"&sig=abc\\def',
    );
    logger.warn(new Error('request to http://bot:tokenPw@127.0.0.1:9/hook?access_token=zz9 failed'));
    const out = text();
    for (const secret of ['s3cretPw', 'p4ssw0rd', 'k3y', 'tokenPw', 'zz9']) expect(out).not.toContain(secret);
    const [first, second] = lines();
    expect(first?.['msg']).toBe(
      'cannot reach https://[redacted]@h.example/x?api_key=[redacted]"quoted"&sig=[redacted]\\def',
    );
    expect(first?.['err']).toBe('connect ECONNREFUSED for redis://[redacted]@10.0.0.5:6379/0');
    expect(second?.['msg']).toBe(
      'request to http://[redacted]@127.0.0.1:9/hook?access_token=[redacted] failed',
    );
  });
});

describe('redactUrlCredentials', () => {
  it.each([
    ['https://hooks.example.com/qq', 'https://hooks.example.com/qq'],
    ['see http://a@b/c and ws://x:y@z/', 'see http://[redacted]@b/c and ws://[redacted]@z/'],
    ['https://h/p?team=1&password=x&token=', 'https://h/p?team=1&password=[redacted]&token=[redacted]'],
    ['mailto-like user@example.com stays', 'mailto-like user@example.com stays'],
    ['https://h/a@b', 'https://h/a@b'],
  ])('%s → %s', (input, expected) => {
    expect(redactUrlCredentials(input)).toBe(expected);
  });
});
