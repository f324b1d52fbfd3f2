/**
 * The placeholders .env.example ships are refused by the loader, at the setting that holds them, with what to put
 * there instead; `config check` on a .env left as copied exits 2 instead of letting the gateway crash-loop.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ENV_EXAMPLE_PLACEHOLDERS } from '../../src/config/placeholders.js';
import { ROOT, demoEnv, filledEnv } from '../docker/compose-file.js';
import { MINIMAL, issuesOf, shown } from './helpers.js';

const CLIENT_SECRET_MESSAGE =
  'qq.client_secret is the placeholder from .env.example: replace QQ_CLIENT_SECRET in .env with the AppSecret ' +
  'from the QQ bot console';

const placeholder = (variable: string): string =>
  ENV_EXAMPLE_PLACEHOLDERS.find((p) => p.variable === variable)!.value;

/** `config check` on config/compose.yaml (what the compose bridge services read) with `env` alone. */
function configCheck(env: Record<string, string>) {
  return spawnSync(
    process.execPath,
    ['--import', 'tsx', 'src/cli.ts', 'config', 'check', '--config', 'config/compose.yaml'],
    { cwd: ROOT, encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '', ...env } },
  );
}

describe('placeholders from .env.example', () => {
  it('refuses the client secret placeholder at qq.client_secret, saying what to put there', () => {
    const text = 'qq:\n  app_id: "102000000"\n  client_secret: ${QQ_CLIENT_SECRET}\n';
    const issues = issuesOf(text, { QQ_CLIENT_SECRET: placeholder('QQ_CLIENT_SECRET') });
    expect(shown(issues)).toEqual([`3:18 qq.client_secret: ${CLIENT_SECRET_MESSAGE}`]);
  });

  it('refuses the webhook secret placeholder in a target, alone or in a rotation list', () => {
    const whsec = placeholder('BACKEND_WEBHOOK_SECRET');
    const text =
      `${MINIMAL}targets:\n  - id: a\n    url: https://a.example.com/qq\n    secret: ${whsec}\n` +
      `  - id: b\n    url: https://b.example.com/qq\n    secret: [whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw, ${whsec}]\n`;
    const paths = issuesOf(text).map((issue) => issue.path);
    expect(paths).toEqual(['targets[0].secret', 'targets[1].secret[1]']);
    for (const issue of issuesOf(text)) {
      expect(issue.message).toContain('replace BACKEND_WEBHOOK_SECRET in .env with a secret of your own');
      expect(issue.message).toContain('openssl rand -base64 32');
    }
  });

  it('finds a placeholder wherever it is put, a password inside a URL too', () => {
    const text = `${MINIMAL}redis:\n  url: redis://:${placeholder('QQ_CLIENT_SECRET')}@127.0.0.1:6379\n`;
    expect(issuesOf(text).map((issue) => issue.path)).toEqual(['redis.url']);
  });

  it('never shows the value in the message', () => {
    const text = `qq:\n  app_id: "102000000"\n  client_secret: ${placeholder('QQ_CLIENT_SECRET')}\n`;
    for (const issue of issuesOf(text)) {
      expect(issue.message).not.toContain(placeholder('QQ_CLIENT_SECRET'));
    }
  });
});

describe('config check on config/compose.yaml', () => {
  it('exits 2 with the setting and what to do while .env holds the placeholders', () => {
    const check = configCheck(demoEnv());
    expect(check.status, check.stdout).toBe(2);
    expect(check.stderr).toContain(`qq.client_secret: ${CLIENT_SECRET_MESSAGE}`);
    expect(check.stderr).toContain(
      'targets[0].secret: targets[0].secret is the placeholder from .env.example',
    );
    for (const { value } of ENV_EXAMPLE_PLACEHOLDERS) expect(check.stderr).not.toContain(value);
  });

  it('passes once they are replaced', () => {
    const check = configCheck(filledEnv());
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
  });
});
