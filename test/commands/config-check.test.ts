import { describe, expect, it } from 'vitest';
import { configWarnings, summarizeConfig } from '../../src/commands/config-check.js';
import type { TargetConfig } from '../../src/config/types.js';
import { testConfig, testTarget } from '../helpers/config.js';

function config(...targets: TargetConfig[]): ReturnType<typeof testConfig> {
  return testConfig({ prefix: '{qqwb}', targets });
}

describe('config check warnings', () => {
  it('warns about plain http to a host not known to be private, once per target', () => {
    const warnings = configWarnings(
      config(
        testTarget({ id: 'public-http', url: 'http://hooks.example.com/qq', allowPrivate: false }),
        testTarget({ id: 'public-ip', url: 'http://93.184.215.14:8080/qq', allowPrivate: false }),
        testTarget({ id: 'tls', url: 'https://hooks.example.com/qq', allowPrivate: false }),
      ),
    );
    expect(warnings).toEqual([
      'target "public-http": http://hooks.example.com is plain http to a host that is not known to be private; ' +
        'payloads (message content) and signatures travel in clear — use https://',
      'target "public-ip": http://93.184.215.14:8080 is plain http to a host that is not known to be private; ' +
        'payloads (message content) and signatures travel in clear — use https://',
    ]);
  });

  it('does not warn about http to loopback or private hosts the target allows', () => {
    const warnings = configWarnings(
      config(
        testTarget({ id: 'a', url: 'http://127.0.0.1:8080/hook' }),
        testTarget({ id: 'b', url: 'http://[::1]:8080/hook' }),
        testTarget({ id: 'c', url: 'http://localhost:8080/hook' }),
        testTarget({ id: 'd', url: 'http://receiver.localhost/hook' }),
        testTarget({ id: 'e', url: 'http://10.1.2.3/hook' }),
        testTarget({ id: 'f', url: 'http://[fd00::5]/hook' }),
      ),
    );
    expect(warnings).toEqual([]);
  });

  it('warns that a private host without allow_private will be refused by the SSRF guard', () => {
    const warnings = configWarnings(
      config(
        testTarget({ id: 'metadata', url: 'https://169.254.169.254/latest', allowPrivate: false }),
        testTarget({ id: 'local', url: 'http://localhost:9000/hook', allowPrivate: false }),
      ),
    );
    expect(warnings).toEqual([
      'target "metadata": 169.254.169.254 is not a public address (link-local, incl. cloud metadata), so the ' +
        'SSRF guard refuses it; every delivery will be dead-lettered — set allow_private: true on this target ' +
        'if that is intended',
      'target "local": localhost is not a public address (loopback), so the SSRF guard refuses it; every ' +
        'delivery will be dead-lettered — set allow_private: true on this target if that is intended',
    ]);
  });

  it('ends the summary with a warnings section, and never prints URL credentials or query tokens', () => {
    const quiet = summarizeConfig(config(testTarget({ id: 'ok', url: 'https://hooks.example.com/qq' })));
    expect(quiet.split('\n').at(-1)).toBe('  warnings   none');

    const loud = summarizeConfig(
      config(
        testTarget({
          id: 'leaky',
          url: 'http://user:hunter2pass@hooks.example.com/qq?token=querytoken123',
          allowPrivate: false,
        }),
      ),
    );
    const lines = loud.split('\n');
    expect(lines.slice(-2)).toEqual([
      '  warnings   1',
      '    - target "leaky": http://hooks.example.com is plain http to a host that is not known to be ' +
        'private; payloads (message content) and signatures travel in clear — use https://',
    ]);
    expect(loud).toContain('http://[redacted]@hooks.example.com/qq?[redacted]');
    expect(loud).not.toContain('hunter2pass');
    expect(loud).not.toContain('querytoken123');
  });
});

describe('config check summary', () => {
  it('prints the outbound settings and whether the send API is on, counting its tokens without showing them', () => {
    const base = config(testTarget({ id: 'ok', url: 'https://hooks.example.com/qq' }));
    const off = summarizeConfig(base).split('\n');
    expect(off).toContain('  send api   off (server.api_tokens is empty)');
    expect(off).toContain(
      '  outbound   concurrency 8  timeout 10s  rate limit 20 per 1s  retry 10× from 1s to 5m',
    );

    const on = summarizeConfig({
      ...base,
      server: { ...base.server, apiTokens: ['api-token-one-secret', 'api-token-two-secret'] },
      outbound: {
        concurrency: 2,
        timeoutMs: 1500,
        rateLimit: { max: 5, perMs: 60_000 },
        retry: { attempts: 3, baseMs: 500, maxMs: 3_600_000 },
      },
    });
    const lines = on.split('\n');
    expect(lines).toContain('  send api   on, /v1 with 2 tokens');
    expect(lines).toContain(
      '  outbound   concurrency 2  timeout 1500ms  rate limit 5 per 1m  retry 3× from 500ms to 1h',
    );
    expect(on).not.toContain('api-token-one-secret');
    expect(on).not.toContain('api-token-two-secret');
  });

  it('warns that a rotation period under an hour spends many of the daily session starts', () => {
    const at = (rotateEveryMs: number): string[] =>
      configWarnings({ ...config(), gateway: { ...config().gateway, rotateEveryMs } }).filter((w) =>
        w.startsWith('gateway.rotate_every'),
      );
    expect(at(10_000)).toEqual([
      "gateway.rotate_every 10s rotates each shard 8640 times a day, spending as many of QQ's ~1000 daily " +
        'session starts (rotation pauses while few are left); use 1h or more (default 24h) outside tests',
    ]);
    expect(at(3_600_000)).toEqual([]);
    expect(at(0)).toEqual([]);
  });
});
