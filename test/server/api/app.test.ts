import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../../../src/app.js';
import { silentLogger } from '../../../src/log.js';
import { startSimulator } from '../../../src/simulator/index.js';
import { testConfig } from '../../helpers/config.js';
import { deletePrefix, freshPrefix } from '../../helpers/redis.js';
import { GROUP } from './harness.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function bridge(apiTokens: string[]): Promise<string> {
  const sim = await startSimulator();
  cleanups.push(() => sim.close());
  const prefix = freshPrefix('api-app');
  cleanups.push(() => deletePrefix(prefix));
  const config = testConfig({ simulatorOrigin: sim.origin, prefix });
  const app = createApp({
    config: { ...config, server: { ...config.server, apiTokens } },
    role: 'worker',
    logger: silentLogger(),
  });
  cleanups.push(() => app.stop());
  await app.start();
  const address = app.httpAddress()!;
  return `http://${address.host}:${address.port}`;
}

describe('the send API in the app', () => {
  it('serves /v1 on server.listen with the app’s Redis and the bot’s token when api_tokens is set', async () => {
    const base = await bridge(['app-api-token']);
    const headers = { authorization: 'Bearer app-api-token' };
    const sent = await request(`${base}/v1/groups/${GROUP}/messages`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ content: 'hello', msg_type: 0 }),
    });
    expect(sent.statusCode).toBe(202);
    const { id } = (await sent.body.json()) as { id: string };
    const status = await request(`${base}/v1/messages/${id}`, { headers });
    expect(await status.body.json()).toEqual({ id, status: 'queued', attempts: 0 });
    const relayed = await request(`${base}/v1/openapi/gateway`, { headers });
    expect(relayed.statusCode).toBe(200);
    expect(await relayed.body.json()).toMatchObject({
      url: expect.stringContaining('/websocket') as unknown,
    });
  });

  it('has no /v1 routes when api_tokens is empty', async () => {
    const base = await bridge([]);
    const res = await request(`${base}/v1/groups/${GROUP}/messages`, {
      method: 'POST',
      headers: { authorization: 'Bearer anything' },
      body: '{"content":"hello"}',
    });
    expect(res.statusCode).toBe(404);
    expect(await res.body.json()).toEqual({ error: 'not_found' });
  });
});
