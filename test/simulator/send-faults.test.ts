import { describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/index.js';
import { qq, qqError, sendToGroup } from './qq-rest.js';
import { connectReady, getJson, postJson, simulatorPerTest } from './sim-client.js';

const GROUP = 'C9F778FE6ADF9D1D1DBE395BF744A33A';
const TEXT = { content: 'hello', msg_type: 0 };

// A long heartbeat interval: these clients never heartbeat, and their sockets must stay READY.
const lifecycle = simulatorPerTest({ heartbeatIntervalMs: 60_000 });

async function connected(): Promise<Simulator> {
  const sim = await lifecycle.start();
  const { client } = await connectReady(sim);
  lifecycle.clients.push(client);
  return sim;
}

describe('send faults', () => {
  it('send_error fails the next N sends with its status and stores nothing', async () => {
    const sim = await connected();
    sim.fault('send_error', { status: 503, times: 2 });
    for (let i = 0; i < 2; i++) {
      expect(await sendToGroup(sim, GROUP, TEXT)).toMatchObject({
        status: 503,
        body: qqError(503, 'Service Unavailable'),
      });
    }
    expect((await sendToGroup(sim, GROUP, TEXT)).status).toBe(200);
    expect(sim.messages().messages.map((m) => [m.outcome, m.status])).toEqual([
      ['rejected', 503],
      ['rejected', 503],
      ['delivered', 200],
    ]);
  });

  it('send_stored_error delivers the message but answers 500; the retry is told 40054005', async () => {
    const sim = await connected();
    const { id: eventId } = sim.emit('GROUP_ADD_ROBOT', { group_openid: GROUP });
    const reply = { ...TEXT, event_id: eventId, msg_seq: 1 };
    await postJson(`${sim.origin}/_sim/fault`, { kind: 'send_stored_error' });
    expect(await sendToGroup(sim, GROUP, reply)).toMatchObject({ status: 500, body: qqError(500) });
    expect(await sendToGroup(sim, GROUP, reply)).toMatchObject({ status: 400, body: qqError(40054005) });
    expect(sim.delivered()).toMatchObject([{ body: reply, outcome: 'delivered', status: 500 }]);
  });

  it('send_rate_limited answers 429 with Retry-After and 22009, storing nothing', async () => {
    const sim = await connected();
    sim.fault('send_rate_limited', { retry_after: 7 });
    const limited = await sendToGroup(sim, GROUP, TEXT);
    expect(limited).toMatchObject({ status: 429, body: qqError(22009, 'msg limit exceed') });
    expect(limited.headers['retry-after']).toBe('7');
    expect((await sendToGroup(sim, GROUP, TEXT)).status).toBe(200);
    expect(sim.delivered()).toHaveLength(1);
  });

  it('applies armed faults in the order they were armed, and reports how many sends each will hit', async () => {
    const sim = await connected();
    expect(await postJson(`${sim.origin}/_sim/fault`, { kind: 'send_error', times: 2 })).toEqual({
      status: 200,
      body: { applied: 2 },
    });
    expect(await postJson(`${sim.origin}/_sim/fault`, { kind: 'send_rate_limited' })).toEqual({
      status: 200,
      body: { applied: 1 },
    });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await sendToGroup(sim, GROUP, TEXT)).status);
    expect(statuses).toEqual([500, 500, 429, 200]);
  });

  it('does not spend a fault on a send refused for its token', async () => {
    const sim = await connected();
    sim.fault('send_error');
    expect((await qq(sim, 'POST', `/v2/groups/${GROUP}/messages`, TEXT, {})).status).toBe(401);
    expect((await sendToGroup(sim, GROUP, TEXT)).status).toBe(500);
  });

  it('leaves interaction acknowledgements and recalls alone', async () => {
    const sim = await connected();
    const sent = (await sendToGroup(sim, GROUP, TEXT)).body?.id as string;
    sim.emit('INTERACTION_CREATE', { id: 'i-1', group_openid: GROUP });
    sim.fault('send_error');
    expect((await qq(sim, 'PUT', '/interactions/i-1', { code: 0 })).status).toBe(200);
    expect((await qq(sim, 'DELETE', `/v2/groups/${GROUP}/messages/${sent}`)).status).toBe(200);
    expect((await sendToGroup(sim, GROUP, TEXT)).status).toBe(500);
  });

  it.each([
    [{ kind: 'send_error', status: 200 }, /"status" must be an HTTP failure status/],
    [{ kind: 'send_error', times: 0 }, /"times" must be an integer from 1/],
    [{ kind: 'send_error', retry_after: 3 }, /"retry_after" is only used by send_rate_limited/],
    [{ kind: 'send_stored_error', status: 500 }, /"status" is only used by send_error/],
    [{ kind: 'send_rate_limited', retry_after: -1 }, /"retry_after" must be whole seconds/],
    [
      { kind: 'explode' },
      /"kind" must be one of .*half_dead, .*token_rate_limit, send_error, send_stored_error, send_rate_limited/,
    ],
  ])('refuses the fault %j with 400 saying what is wrong', async (fault, error) => {
    const sim = await lifecycle.start();
    const res = await postJson(`${sim.origin}/_sim/fault`, fault);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(error);
    const { kind, ...opts } = fault as { kind: 'send_error' } & Record<string, number>;
    expect(() => sim.fault(kind, opts)).toThrow(/simulator fault: /);
  });
});

describe('/_sim/messages', () => {
  it('GET answers what messages() returns', async () => {
    const sim = await connected();
    await sendToGroup(sim, GROUP, TEXT);
    sim.emit('INTERACTION_CREATE', { id: 'i-1', group_openid: GROUP });
    await qq(sim, 'PUT', '/interactions/i-1', { code: 0 });
    const res = await getJson(`${sim.origin}/_sim/messages`);
    expect(res).toEqual({ status: 200, body: sim.messages() });
    expect(res.body).toMatchObject({
      messages: [{ outcome: 'delivered' }],
      interactions: [{ outcome: 'acked' }],
      recalls: [],
    });
  });

  it('POST /_sim/messages/reset empties the log but QQ still remembers the msg_seq it took', async () => {
    const sim = await connected();
    const { id: eventId } = sim.emit('GROUP_ADD_ROBOT', { group_openid: GROUP });
    const sent = (await sendToGroup(sim, GROUP, { ...TEXT, event_id: eventId })).body?.id as string;
    expect(await postJson(`${sim.origin}/_sim/messages/reset`, {})).toEqual({
      status: 200,
      body: { cleared: 1 },
    });
    expect(sim.messages()).toEqual({ messages: [], interactions: [], recalls: [] });
    expect((await sendToGroup(sim, GROUP, { ...TEXT, event_id: eventId })).body?.code).toBe(40054005);
    expect((await qq(sim, 'DELETE', `/v2/groups/${GROUP}/messages/${sent}`)).status).toBe(200);
    sim.resetMessages();
    expect(sim.messages().messages).toEqual([]);
  });

  it('waitForMessages resolves once a send arrives and rejects with the last log when none does', async () => {
    const sim = await connected();
    const waiting = sim.waitForMessages((view) => view.messages.length === 1);
    await sendToGroup(sim, GROUP, TEXT);
    expect((await waiting).messages).toHaveLength(1);
    await expect(sim.waitForMessages((view) => view.messages.length === 2, 50)).rejects.toThrow(
      /condition not met within 50 ms; last state: \{"messages":\[\{/,
    );
  });

  it('answers other methods with 405 and unknown QQ paths with 404', async () => {
    const sim = await connected();
    expect((await qq(sim, 'GET', `/v2/groups/${GROUP}/messages`)).status).toBe(405);
    expect((await qq(sim, 'POST', '/_sim/messages')).status).toBe(405);
    expect((await qq(sim, 'POST', `/v2/groups/${GROUP}/files`, {})).status).toBe(404);
    expect((await qq(sim, 'POST', '/v2/groups/%E0%A4%A/messages', TEXT)).status).toBe(404);
  });
});
