/**
 * examples/python/send.py and examples/php/send.php as real processes against a real bridge's send API, with the
 * simulator as QQ. The PHP one is skipped when `php` is not installed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { emitAtMessage, GROUP, repliesAtQq, startExampleBridge, type ExampleBridge } from './bridge.js';

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));
const hasPhp = spawnSync('php', ['--version']).error === undefined;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `command args` to its end, with `env` added to its environment. */
function run(command: string, args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const SCRIPTS = [
  { name: 'python/send.py', available: true, command: 'python3', script: `${EXAMPLES}python/send.py` },
  { name: 'php/send.php', available: hasPhp, command: 'php', script: `${EXAMPLES}php/send.php` },
];

let backend: Receiver;
let bridge: ExampleBridge;
beforeAll(async () => {
  backend = await startReceiver();
  bridge = await startExampleBridge(backend.url);
});
afterAll(async () => {
  await bridge?.close();
  await backend?.close();
});

describe.each(SCRIPTS)('examples/$name', ({ name, available, command, script }) => {
  const skipped = available ? '' : ` (skipped: ${command} not installed)`;
  const send = (args: string[], token = bridge.apiToken): Promise<Run> =>
    run(command, [script, '--url', bridge.origin, ...args], { QQWB_API_TOKEN: token });

  it.skipIf(!available)(
    `sends a reply through the send API; the same --key again sends nothing more${skipped}`,
    async () => {
      const msgId = emitAtMessage(bridge.sim, ' ping');
      const key = `example-${name.replace(/\W/g, '-')}-${Date.now()}`;
      const args = ['--group', GROUP, '--text', 'pong', '--reply-to', msgId, '--key', key];
      const first = await send(args);
      expect(first.code, first.stderr).toBe(0);
      const status = JSON.parse(first.stdout) as Record<string, unknown>;
      expect(status).toMatchObject({ status: 'sent', attempts: 1, qq: { id: expect.any(String) } });
      expect(String(status['id'])).toMatch(/^ob_[0-9a-f]{32}$/);
      const [sent] = await repliesAtQq(bridge.sim, msgId);
      expect(sent).toMatchObject({ scene: 'group', openid: GROUP, outcome: 'delivered' });
      expect(sent!.body).toEqual({ content: 'pong', msg_type: 0, msg_id: msgId, msg_seq: 1 });
      expect(sent!.id).toBe((status['qq'] as Record<string, unknown>)['id']);

      const again = await send(args);
      expect(again.code, again.stderr).toBe(0);
      expect((JSON.parse(again.stdout) as Record<string, unknown>)['id']).toBe(status['id']);
      expect(await repliesAtQq(bridge.sim, msgId)).toHaveLength(1);
    },
    30_000,
  );

  it.skipIf(!available)(
    `exits 1 and prints the bridge's error when the token is wrong${skipped}`,
    async () => {
      const refused = await send(['--group', GROUP, '--text', 'pong'], 'not-a-token');
      expect(refused.code).toBe(1);
      expect(refused.stdout).toBe('');
      expect(refused.stderr).toMatch(/^refused \(HTTP 401\): /);
    },
  );
});
