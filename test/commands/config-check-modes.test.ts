import { describe, expect, it } from 'vitest';
import { summarizeConfig } from '../../src/commands/config-check.js';
import { testConfig, testTarget } from '../helpers/config.js';

const TARGET = testTarget({ id: 'ok', url: 'https://hooks.example.com/qq' });

function configIn(mode: 'websocket' | 'webhook'): ReturnType<typeof testConfig> {
  const base = testConfig({ prefix: '{qqwb}', targets: [TARGET], mode });
  return { ...base, server: { ...base.server, port: 9464 } };
}

describe('config check summary per qq.mode', () => {
  it('websocket mode: the mode, intents and shards, and no callback route', () => {
    const lines = summarizeConfig(configIn('websocket')).split('\n');
    expect(lines).toContain('  mode       websocket (holds the QQ gateway session)');
    expect(lines).toContain('  intents    GROUP_AND_C2C_EVENT (33554432)');
    expect(lines).toContain('  shards     auto (from /gateway/bot)');
    expect(lines.some((line) => line.startsWith('  callback'))).toBe(false);
    expect(lines.some((line) => line.startsWith('  public url'))).toBe(false);
  });

  it('webhook mode: the mode, the callback path on server.listen and the public URL shape, not intents or shards', () => {
    const lines = summarizeConfig(configIn('webhook')).split('\n');
    expect(lines).toContain(
      '  mode       webhook (QQ POSTs signed callbacks; no WebSocket, so intents and shards are not used)',
    );
    expect(lines).toContain(
      '  callback   POST /qq/callback on server.listen 127.0.0.1:9464  body ≤ 1048576 bytes  timestamp skew ≤ 5m',
    );
    expect(lines).toContain(
      '  public url https://<your domain>/qq/callback (register it with QQ; HTTPS on port 443, 8443, 80 or 8080, ' +
        'through a TLS proxy to server.listen — docs/webhook-mode.md)',
    );
    expect(lines.some((line) => line.startsWith('  intents'))).toBe(false);
    expect(lines.some((line) => line.startsWith('  shards'))).toBe(false);
  });

  it('webhook mode: shows the configured path and an IPv6 listen address in brackets', () => {
    const base = configIn('webhook');
    const summary = summarizeConfig({
      ...base,
      qq: { ...base.qq, webhook: { path: '/hooks/qq', maxBodyBytes: 4096, maxSkewMs: 30_000 } },
      server: { ...base.server, host: '::1', port: 8443 },
    });
    expect(summary).toContain(
      '  callback   POST /hooks/qq on server.listen [::1]:8443  body ≤ 4096 bytes  timestamp skew ≤ 30s',
    );
    expect(summary).toContain('  public url https://<your domain>/hooks/qq ');
    expect(summary).toContain('  server     [::1]:8443  admin off');
  });

  it('webhook mode has no shards to rotate, so gateway.rotate_every is not warned about', () => {
    const rotating = (mode: 'websocket' | 'webhook'): string => {
      const base = configIn(mode);
      return summarizeConfig({ ...base, gateway: { ...base.gateway, rotateEveryMs: 10_000 } });
    };
    expect(rotating('websocket')).toContain('gateway.rotate_every 10s rotates each shard');
    expect(rotating('webhook')).not.toContain('gateway.rotate_every');
  });
});
