import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, type App } from '../app.js';
import { DEMO_TARGET_ID, demoConfig } from '../demo/config.js';
import { openDemoDeadLetters } from '../demo/dead-letters.js';
import { demoLogDestination } from '../demo/log-filter.js';
import { demoEvents, UNKNOWN_EVENT } from '../demo/events.js';
import { awaitDemoOutcome, summarizeDemo, type DemoRun } from '../demo/outcome.js';
import { watchQqMessages } from '../demo/qq-messages.js';
import { startSampleReceiver } from '../demo/receiver.js';
import { connectRedis } from '../redis/connections.js';
import { assertRedisAnswers, deleteKeysWithPrefix, resolveDemoRedis } from '../demo/redis.js';
import { describeError } from '../errors.js';
import { EVENT_CATALOG } from '../events/catalog.js';
import { createLogger } from '../log.js';
import { createLoginCodes } from '../server/login-codes.js';
import { startSimulator, type Simulator } from '../simulator/index.js';

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Emit, wait for every delivery, print a summary and return; otherwise keep running until a signal. */
  readonly once: boolean;
  /** How long to wait for the sample events to arrive and verify, in ms (with `once`, then it fails). */
  readonly timeoutMs: number;
  /** `REDIS_URL` from the environment, if any. */
  readonly redisUrl: string | undefined;
  /** Where the demo's lines go (stdout). */
  readonly print: (line: string) => void;
}

const APP_ID = '102000000';
const CLIENT_SECRET = 'simulator-secret';
/** Short, so the demo's gateway session is visibly alive within seconds. */
const HEARTBEAT_INTERVAL_MS = 5_000;

/**
 * `qq-webhook-bridge demo`: the whole flow on one machine — the QQ simulator, the bridge (gateway and workers,
 * role `all`), and a sample receiver that verifies every signature, prints each event and answers the @-message
 * with a reply, which the bridge sends back to the simulator (printed as it arrives there). Emits the seed's four
 * group events, one of every other catalog event and one unknown event. Everything it creates (Redis keys under
 * a prefix of its own, a journal directory, a redis-server it had to start) is removed at the end.
 * The receiver refuses the unknown event for good (demo/refusal.ts), so the run leaves one dead letter to look at.
 * Resolves with the exit code: 0 when every other event arrived and verified, the dead-letter queue holds exactly
 * the refused one, and the reply reached QQ.
 */
export async function runDemo(options: DemoOptions): Promise<number> {
  const { print } = options;
  const cleanups: (() => Promise<void>)[] = [];
  // Installed first, so Ctrl+C at any point (even while starting) still runs the cleanups below.
  const signal = watchSignals();
  cleanups.push(() => Promise.resolve(signal.dispose()));
  try {
    const redis = await resolveDemoRedis(options.redisUrl);
    cleanups.push(() => redis.stop());
    await assertRedisAnswers(redis.url, redis.origin);
    const sim = await startSimulator({
      appId: APP_ID,
      clientSecret: CLIENT_SECRET,
      heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS,
    });
    cleanups.push(() => sim.close());
    const secret = `whsec_${randomBytes(24).toString('base64')}`;
    const receiver = await startSampleReceiver({ secrets: [secret], print });
    cleanups.push(() => receiver.close());
    const prefix = `{qqwb-demo-${randomBytes(4).toString('hex')}}`;
    cleanups.push(() => removePrefix(redis.url, prefix));
    const journalDir = await mkdtemp(join(tmpdir(), 'qqwb-demo-journal-'));
    cleanups.push(() => rm(journalDir, { recursive: true, force: true }));
    const adminToken = randomBytes(16).toString('hex');
    const config = demoConfig({
      simulatorOrigin: sim.origin,
      appId: APP_ID,
      clientSecret: CLIENT_SECRET,
      redisUrl: redis.url,
      prefix,
      journalDir,
      receiverUrl: receiver.url,
      secret,
      adminToken,
    });
    // The dashboard login link printed below; only this process's server accepts it, once.
    const loginCodes = createLoginCodes();
    const app = createApp({
      config,
      role: 'all',
      adminLoginCodes: loginCodes,
      logger: createLogger({ level: 'warn', pretty: false, destination: demoLogDestination(process.stdout) }),
    });
    cleanups.push(() => app.stop());

    print(
      'qq-webhook-bridge demo: QQ simulator → bridge → Redis → signed webhook → sample receiver, ' +
        'and its reply back to QQ',
    );
    print(`  redis      ${redis.origin}, keys under ${prefix}`);
    print(`  simulator  ${sim.origin}`);
    print(`  receiver   ${receiver.url} (verifies every signature, answers the @-message with a reply)`);
    await app.start();
    const http = app.httpAddress();
    if (http) print(`  bridge     http://${http.host}:${http.port}/healthz, /readyz, /metrics`);
    print('');

    const deadLetters = await openDemoDeadLetters(config, redis.url, DEMO_TARGET_ID);
    cleanups.push(() => deadLetters.close());
    const qq = watchQqMessages(sim, print);
    cleanups.push(() => Promise.resolve(qq.stop()));
    const emitted = demoEvents(Object.keys(EVENT_CATALOG)).map(({ t, d }) => ({ t, id: sim.emit(t, d).id }));
    const run: DemoRun = {
      receiver,
      qq,
      deadLetters,
      ids: emitted.map(({ id }) => id),
      // The one event type the catalog does not know, which the sample receiver refuses (demo/refusal.ts).
      refusedId: emitted.find(({ t }) => t === UNKNOWN_EVENT.t)?.id ?? '',
      print,
    };
    await awaitDemoOutcome(run, Date.now() + options.timeoutMs, () => signal.received());
    print('');
    const ok = await summarizeDemo(run, options.timeoutMs);
    if (options.once || signal.received()) return ok ? 0 : 1;
    printHowToEmitMore(print, sim, http, { adminToken, loginCode: loginCodes.issue() });
    await signal.promise;
    print('');
    print(
      `stopping: ${receiver.verified.size} events verified in all, ${receiver.rejected()} failed verification`,
    );
    return 0;
  } finally {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (err) {
        process.stderr.write(`demo: cleanup failed: ${describeError(err)}\n`);
      }
    }
  }
}

function printHowToEmitMore(
  print: (line: string) => void,
  sim: Simulator,
  http: ReturnType<App['httpAddress']>,
  login: { adminToken: string; loginCode: string },
): void {
  const event = JSON.stringify({
    t: 'GROUP_ADD_ROBOT',
    d: {
      group_openid: 'C9F778FE6ADF9D1D1DBE395BF744A33A',
      op_member_openid: 'E4F4AEA33253A2797FB897C50B81D7ED',
      timestamp: Math.floor(Date.now() / 1000),
    },
  });
  print('');
  print('The bridge keeps running. Make the simulator push more events:');
  print(`  curl -s -XPOST ${sim.origin}/_sim/emit -H 'content-type: application/json' \\`);
  print(`    -d '${event}'`);
  print(
    `Any "t" works; unknown ones arrive as qq.unknown, which the sample receiver refuses (a dead letter). ` +
      `Faults: POST ${sim.origin}/_sim/fault {"kind":"reconnect"}`,
  );
  print(
    `A GROUP_AT_MESSAGE_CREATE (its "timestamp" within the last 5 minutes) is answered, and its reply printed ↩; ` +
      `everything QQ got: GET ${sim.origin}/_sim/messages`,
  );
  if (http) {
    const origin = `http://${http.host}:${http.port}`;
    print(
      `Queue dashboard (the refused qq.unknown is under deliver-${DEMO_TARGET_ID}, Failed, with its attempt log): ` +
        'open this link once to log in:',
    );
    print(`  ${origin}/admin/login?code=${login.loginCode}`);
    print(`  later, or in another browser: ${origin}/admin/login with the admin token ${login.adminToken}`);
  }
  print('Press Ctrl+C to stop (everything the demo created is removed).');
}

/** SIGINT/SIGTERM, watched from the start of the demo to its end. */
interface SignalWatch {
  /** Resolves on the first signal. */
  readonly promise: Promise<void>;
  received(): boolean;
  dispose(): void;
}

function watchSignals(): SignalWatch {
  let received = false;
  let wake: () => void = () => undefined;
  const promise = new Promise<void>((resolve) => (wake = resolve));
  const onSignal = (): void => {
    received = true;
    wake();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    promise,
    received: () => received,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

async function removePrefix(url: string, prefix: string): Promise<void> {
  const redis = connectRedis({ kind: 'single', url }, 'command');
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await deleteKeysWithPrefix(redis, prefix);
  } finally {
    redis.disconnect();
  }
}
