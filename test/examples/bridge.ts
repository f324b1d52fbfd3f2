/**
 * A real bridge in front of an example: the simulator as QQ, the bridge (role `all`, its own key prefix) delivering
 * every event to the example receiver's URL and serving the send API, so an example's reply or send can be followed
 * all the way to the simulator's message log.
 */
import { randomBytes } from 'node:crypto';
import { createApp, type App } from '../../src/app.js';
import { silentLogger } from '../../src/log.js';
import { startSimulator, type SentMessage, type Simulator } from '../../src/simulator/index.js';
import { testConfig, testTarget } from '../helpers/config.js';
import { eventually } from '../helpers/gateway.js';
import { deletePrefix, freshPrefix } from '../helpers/redis.js';

export const GROUP = 'C9F778FE6ADF9D1D1DBE395BF744A33A';
const MEMBER = 'E4F4AEA33253A2797FB897C50B81D7ED';

/** A running simulator and bridge. */
export interface ExampleBridge {
  readonly sim: Simulator;
  readonly app: App;
  /** `http://127.0.0.1:<port>`: the bridge's `server.listen`, where the send API is. */
  readonly origin: string;
  /** The send API's Bearer token. */
  readonly apiToken: string;
  close(): Promise<void>;
}

/** Starts the simulator and a bridge that delivers every event to `targetUrl` (signed with the test secret). */
export async function startExampleBridge(targetUrl: string): Promise<ExampleBridge> {
  const closers: (() => Promise<void>)[] = [];
  const close = async (): Promise<void> => {
    while (closers.length > 0) await closers.pop()!();
  };
  try {
    const sim = await startSimulator({ heartbeatIntervalMs: 5_000 });
    closers.push(() => sim.close());
    const prefix = freshPrefix('examples');
    closers.push(() => deletePrefix(prefix));
    const apiToken = randomBytes(16).toString('hex');
    const base = testConfig({
      simulatorOrigin: sim.origin,
      prefix,
      targets: [testTarget({ id: 'example', url: targetUrl, events: ['*'] })],
    });
    const app = createApp({
      config: { ...base, server: { ...base.server, apiTokens: [apiToken] } },
      role: 'all',
      logger: silentLogger(),
    });
    closers.push(() => app.stop());
    await app.start();
    await eventually(
      () => app.shards().every((s) => s.status === 'ready'),
      'the bridge READY at the simulator',
    );
    const address = app.httpAddress();
    if (!address) throw new Error('the bridge has no HTTP server');
    return { sim, app, origin: `http://${address.host}:${address.port}`, apiToken, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Emits a group @-message with `content`, stamped now (QQ's reply window runs from it); returns its `d.id`. */
export function emitAtMessage(sim: Simulator, content: string): string {
  const msgId = `ROBOT1.0_example-${randomBytes(6).toString('hex')}`;
  sim.emit('GROUP_AT_MESSAGE_CREATE', {
    id: msgId,
    content,
    timestamp: new Date().toISOString(),
    author: { id: MEMBER, member_openid: MEMBER },
    group_id: GROUP,
    group_openid: GROUP,
  });
  return msgId;
}

/** The messages QQ stored that answer `msgId`, once `count` of them are there. */
export async function repliesAtQq(sim: Simulator, msgId: string, count = 1): Promise<SentMessage[]> {
  const answering = (): SentMessage[] =>
    sim.delivered().filter((m) => (m.body as Record<string, unknown> | null)?.['msg_id'] === msgId);
  await sim.waitForMessages(() => answering().length >= count, 20_000);
  return answering();
}
