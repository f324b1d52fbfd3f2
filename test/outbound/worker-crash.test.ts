/**
 * kill -9 of an outbound worker with messages queued and in flight, then a restart: every message is at QQ exactly
 * once. To make "in flight" exact rather than a race, the first worker reaches QQ through a loopback relay that
 * passes its sends on (QQ stores them) but, from the third on, never passes the answers back; the worker is killed
 * with every slot waiting on such an answer. The restarted worker then meets messages QQ already has, in jobs
 * whose attempt was never counted.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { silentLogger } from '../../src/log.js';
import { GatewayReadiness } from '../../src/outbound/gateway-ready.js';
import type { OutboundSent } from '../../src/outbound/message.js';
import { OutboundQueue } from '../../src/outbound/send-queue.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { waitFor } from '../delivery/fixtures.js';
import { testConfig } from '../helpers/config.js';
import { deletePrefix, freshPrefix, redisConnection } from '../helpers/redis.js';
import type { WorkerMessage } from './worker-process.js';

const APP_ID = '102000000';
const GROUP = 'C9F778FE6ADF9D1D1DBE395BF744A33A';
const CONCURRENCY = 4;
const STALL_MS = 1000;

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

interface Relay {
  readonly origin: string;
  /** Message sends QQ answered but whose answer the relay keeps. */
  held(): number;
}

/** Passes every request on to `target`; from the `holdFrom`-th message send on, keeps QQ's answer to itself. */
async function relay(target: string, holdFrom: number): Promise<Relay> {
  let sends = 0;
  let held = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const isSend = req.method === 'POST' && /^\/v2\/.*\/messages$/.test(req.url ?? '');
      if (isSend) sends += 1;
      const keep = isSend && sends >= holdFrom;
      const headers = { ...req.headers };
      delete headers.host;
      delete headers.connection;
      void request(`${target}${req.url ?? '/'}`, {
        method: (req.method ?? 'GET') as 'GET',
        headers,
        ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}),
      }).then(
        async (answer) => {
          const body = await answer.body.text();
          if (keep) {
            held += 1;
            return;
          }
          res.writeHead(answer.statusCode, { 'content-type': 'application/json' });
          res.end(body);
        },
        () => res.destroy(),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, held: () => held };
}

interface WorkerProcess {
  readonly messages: WorkerMessage[];
  kill9(): Promise<void>;
}

function workerProcess(qqOrigin: string, prefix: string): WorkerProcess {
  const child: ChildProcess = fork(fileURLToPath(new URL('./worker-process.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, QQWB_SIM_ORIGIN: qqOrigin, QQWB_PREFIX: prefix, QQWB_STALL_MS: String(STALL_MS) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const kill9 = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  cleanups.push(kill9);
  const messages: WorkerMessage[] = [];
  child.on('message', (message) => messages.push(message as WorkerMessage));
  return { messages, kill9 };
}

async function simulator(): Promise<Simulator> {
  const sim = await startSimulator({ heartbeatIntervalMs: 60_000 });
  cleanups.push(() => sim.close());
  return sim;
}

describe('outbound worker crash', () => {
  it('kill -9 with sends in flight and queued: after a restart every message is at QQ exactly once', async () => {
    const sim = await simulator();
    const prefix = freshPrefix('outcrash');
    cleanups.push(() => deletePrefix(prefix));
    const redis = redisConnection();
    cleanups.push(() => redis.quit());
    // The gateway stays up throughout: QQ stores sends, and the workers see the bot READY.
    const gateway = createApp({
      config: testConfig({ simulatorOrigin: sim.origin, prefix, appId: APP_ID }),
      role: 'gateway',
      logger: silentLogger(),
      withoutHttp: true,
    });
    cleanups.push(() => gateway.stop());
    await gateway.start();
    const readiness = new GatewayReadiness(redis, prefix, APP_ID);
    await waitFor(() => readiness.isReady());

    const queue = new OutboundQueue({ connection: redis, prefix, appId: APP_ID, attempts: 10 });
    cleanups.push(() => queue.close());
    const ids: string[] = [];
    for (let m = 0; m < 4; m++) {
      const msgId = `MSG-${m}`;
      sim.emit('GROUP_AT_MESSAGE_CREATE', { id: msgId, group_openid: GROUP, author: {}, content: 'hi' });
      for (let r = 0; r < 5; r++) {
        ids.push(
          await queue.enqueueMessage({
            scene: 'group',
            openid: GROUP,
            body: { content: `reply ${r}`, msg_type: 0, msg_id: msgId },
            source: 'api',
          }),
        );
      }
    }

    const toQq = await relay(sim.origin, 3);
    const first = workerProcess(toQq.origin, prefix);
    await waitFor(() => toQq.held() === CONCURRENCY, 20_000);
    await first.kill9();
    // Two sends were answered; four more are stored at QQ with their jobs still active under a dead lock.
    expect(sim.delivered()).toHaveLength(2 + CONCURRENCY);

    const second = workerProcess(sim.origin, prefix);
    await waitFor(async () => {
      const counts = await queue.queue.getJobCounts('completed', 'failed');
      return (counts.completed ?? 0) + (counts.failed ?? 0) === ids.length;
    }, 30_000);
    const failed = await queue.queue.getFailed();
    expect(failed.map((job) => job.failedReason)).toEqual([]);

    const delivered = sim.delivered();
    expect(delivered).toHaveLength(ids.length);
    const keys = delivered.map((m) => {
      const body = m.body as { msg_id: string; msg_seq: number };
      return `${body.msg_id}#${body.msg_seq}`;
    });
    expect(new Set(keys).size).toBe(ids.length);
    expect(sim.messages().messages.filter((m) => m.outcome === 'dropped')).toEqual([]);
    const sent = await Promise.all(
      ids.map(async (id) => (await queue.queue.getJob(id))?.returnvalue as OutboundSent),
    );
    // The four taken over were answered 40054005 on their (uncounted) first attempt and count as sent.
    expect(sent.filter((s) => s.duplicate === true)).toHaveLength(CONCURRENCY);
    expect(sent.every((s) => s.attempt === 1)).toBe(true);
    expect(second.messages.filter((m) => m.kind === 'result' && m.outcome === 'duplicate')).toHaveLength(
      CONCURRENCY,
    );
  });
});
