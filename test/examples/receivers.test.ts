/**
 * The Node, Go and PHP example receivers, each run as a real process against real signed deliveries. Each is
 * skipped when its toolchain is not installed (CI has Node; Go and PHP are checked where present).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { WebhookDeliverer } from '../../src/delivery/deliver.js';
import { testTarget } from '../helpers/config.js';
import { eventually } from '../helpers/gateway.js';
import { emitAtMessage, GROUP, repliesAtQq, startExampleBridge, type ExampleBridge } from './bridge.js';
import { freePort } from '../../src/demo/redis.js';

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

const has = (command: string): boolean => spawnSync(command, ['--version']).error === undefined;
const hasGo = spawnSync('go', ['version']).error === undefined;

const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  ...process.env,
  WEBHOOK_SECRET: SECRET,
  ...extra,
});

/** Resolves once GET /healthz answers 200 (`go run` compiles first, so this can take a while). */
async function healthy(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(url)).status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

interface Example {
  name: string;
  available: boolean;
  /** Starts the receiver on `port`, with `extra` added to its environment. */
  start(port: number, extra?: Record<string, string>): ChildProcess;
}

const EXAMPLE_RECEIVERS: Example[] = [
  {
    name: 'node/receiver.mjs',
    available: true,
    start: (port, extra) =>
      spawn(process.execPath, ['receiver.mjs'], {
        cwd: `${EXAMPLES}node`,
        env: env({ ...extra, PORT: String(port) }),
      }),
  },
  {
    name: 'go/main.go',
    available: hasGo,
    start: (port, extra) =>
      spawn('go', ['run', '.', '-addr', `127.0.0.1:${port}`], { cwd: `${EXAMPLES}go`, env: env(extra) }),
  },
  {
    name: 'php/receiver.php',
    available: has('php'),
    start: (port, extra) =>
      spawn('php', ['-S', `127.0.0.1:${port}`, 'receiver.php'], { cwd: `${EXAMPLES}php`, env: env(extra) }),
  },
];

const children: ChildProcess[] = [];
const bridges: ExampleBridge[] = [];
const deliverer = new WebhookDeliverer();
afterAll(async () => {
  for (const bridge of bridges) await bridge.close();
  for (const child of children) child.kill('SIGTERM');
  await deliverer.close();
});

/** Starts `example` on a free port and resolves with its webhook URL once it answers /healthz. */
async function running(
  example: Example,
  extra?: Record<string, string>,
): Promise<{ url: string; output: () => string }> {
  const port = await freePort();
  const child = example.start(port, extra);
  children.push(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  await healthy(`http://127.0.0.1:${port}/healthz`, 60_000);
  return { url: `http://127.0.0.1:${port}/webhook`, output: () => output };
}

const envelope = (id: string): string =>
  JSON.stringify({
    id,
    type: 'group.bot.added',
    data: { group_openid: 'C9F778FE6ADF9D1D1DBE395BF744A33A' },
    v: 1,
  });

describe.each(EXAMPLE_RECEIVERS)('examples/$name', (example) => {
  const { name, available } = example;
  it.skipIf(!available)(
    `verifies, dedupes and refuses like the Python receiver${available ? '' : ` (skipped: toolchain for ${name} not installed)`}`,
    async () => {
      const { url, output } = await running(example);
      const target = testTarget({ id: 'example', url, secrets: [SECRET] });
      const unique = `GROUP_ADD_ROBOT:${name.replace(/\W/g, '-')}-${Date.now()}`;

      const first = await deliverer.deliver(target, { eventId: unique, body: envelope(unique), attempt: 1 });
      const again = await deliverer.deliver(target, { eventId: unique, body: envelope(unique), attempt: 2 });
      expect([first.status, again.status]).toEqual([200, 200]);
      await eventually(() => output().includes(`duplicate ${unique}`), 'the duplicate line');
      expect(output().split(`event ${unique} group.bot.added`).length - 1).toBe(1);

      const wrong = testTarget({ id: 'example', url, secrets: ['whsec_c29tZSBvdGhlciBzZWNyZXQ='] });
      expect(
        (await deliverer.deliver(wrong, { eventId: 'X:wrong', body: envelope('X:wrong'), attempt: 1 }))
          .status,
      ).toBe(401);

      const stale = new WebhookDeliverer({ now: () => Date.now() - 6 * 60_000 });
      try {
        expect(
          (await stale.deliver(target, { eventId: 'X:stale', body: envelope('X:stale'), attempt: 1 })).status,
        ).toBe(401);
      } finally {
        await stale.close();
      }
      expect(output()).not.toContain('event X:');
    },
    90_000,
  );

  it.skipIf(!available)(
    `with REPLY=1 answers an @-message with {"reply"}, which reaches QQ through a real bridge${available ? '' : ` (skipped: toolchain for ${name} not installed)`}`,
    async () => {
      const { url } = await running(example, { REPLY: '1' });
      const target = testTarget({ id: 'example', url, secrets: [SECRET] });
      const id = `GROUP_AT_MESSAGE_CREATE:${name.replace(/\W/g, '-')}-${Date.now()}`;
      const body = JSON.stringify({
        id,
        type: 'group.message.at',
        data: { group_openid: GROUP, message: { id: 'ROBOT1.0_m1', content: ' 今天天气怎么样' } },
        v: 1,
      });
      const reply = { reply: { content: 'echo: 今天天气怎么样', msg_type: 0 } };
      const first = await deliverer.deliver(target, { eventId: id, body, attempt: 1 });
      const again = await deliverer.deliver(target, { eventId: id, body, attempt: 2 });
      expect([first.status, again.status]).toEqual([200, 200]);
      expect(JSON.parse(first.answer?.text ?? '')).toEqual(reply);
      expect(JSON.parse(again.answer?.text ?? '')).toEqual(reply);

      const bridge = await startExampleBridge(url);
      bridges.push(bridge);
      const msgId = emitAtMessage(bridge.sim, ' 今天天气怎么样');
      const [sent, ...more] = await repliesAtQq(bridge.sim, msgId);
      expect(more).toEqual([]);
      expect(sent!.body).toEqual({ content: 'echo: 今天天气怎么样', msg_type: 0, msg_id: msgId, msg_seq: 1 });
    },
    90_000,
  );
});
