/**
 * The send API in a real bridge, all the way to QQ: `POST /v1/groups/{gid}/messages?wait=…` on `server.listen`
 * stores the message, the bridge's own outbound worker sends it to the simulator, and the request answers with
 * QQ's message id. The same Idempotency-Key again sends nothing more.
 */
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../../../src/app.js';
import { silentLogger } from '../../../src/log.js';
import { GatewayReadiness } from '../../../src/outbound/gateway-ready.js';
import { startSimulator } from '../../../src/simulator/index.js';
import { waitFor } from '../../delivery/fixtures.js';
import { testConfig } from '../../helpers/config.js';
import { deletePrefix, freshPrefix, redisConnection } from '../../helpers/redis.js';
import { GROUP } from './harness.js';

const TOKEN = 'e2e-api-token-4c1f';
const MEMBER = 'E4F4AEA33253A2797FB897C50B81D7ED';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

describe('the send API against the simulator', () => {
  it("answers ?wait=5s with 200 sent and QQ's message id; a repeated Idempotency-Key sends nothing more", async () => {
    const sim = await startSimulator({ heartbeatIntervalMs: 60_000 });
    cleanups.push(() => sim.close());
    const prefix = freshPrefix('api-e2e');
    cleanups.push(() => deletePrefix(prefix));
    const redis = redisConnection();
    cleanups.push(() => redis.quit());
    const config = testConfig({ simulatorOrigin: sim.origin, prefix });
    const app = createApp({
      config: { ...config, server: { ...config.server, apiTokens: [TOKEN] } },
      role: 'all',
      logger: silentLogger(),
    });
    cleanups.push(() => app.stop());
    await app.start();
    await waitFor(() => new GatewayReadiness(redis, prefix, config.qq.appId).isReady());
    const address = app.httpAddress()!;
    sim.emit('GROUP_AT_MESSAGE_CREATE', {
      id: 'ROBOT1.0_api-1',
      group_openid: GROUP,
      author: { member_openid: MEMBER },
      content: ' ping',
      timestamp: new Date().toISOString(),
    });

    const send = async (): Promise<{ status: number; body: Record<string, unknown> }> => {
      const res = await request(
        `http://${address.host}:${address.port}/v1/groups/${GROUP}/messages?wait=5s`,
        {
          method: 'POST',
          headers: {
            authorization: `Bearer ${TOKEN}`,
            'content-type': 'application/json',
            'idempotency-key': 'pong-1',
          },
          body: JSON.stringify({ content: 'pong', msg_type: 0, msg_id: 'ROBOT1.0_api-1' }),
        },
      );
      return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
    };

    const first = await send();
    const atQq = sim.delivered();
    expect(atQq.map((m) => m.body)).toEqual([
      { content: 'pong', msg_type: 0, msg_id: 'ROBOT1.0_api-1', msg_seq: 1 },
    ]);
    expect(first).toEqual({
      status: 200,
      body: {
        id: expect.stringMatching(/^ob_[0-9a-f]{32}$/) as unknown,
        status: 'sent',
        attempts: 1,
        qq: { id: atQq[0]!.id, timestamp: expect.any(Number) as unknown },
      },
    });

    const again = await send();
    expect(again).toEqual(first);
    expect(sim.state().sendRequests).toBe(1);
    expect(sim.messages().messages).toHaveLength(1);
  });
});
