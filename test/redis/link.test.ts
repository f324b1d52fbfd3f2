import { afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { connectSingleRedis } from '../../src/redis/connections.js';
import { connectionCause, isCommandRejection, watchRedisLink } from '../../src/redis/link.js';
import { freePort } from '../../src/demo/redis.js';
import { REDIS_URL } from '../helpers/redis.js';

const clients: Redis[] = [];
afterEach(() => {
  while (clients.length > 0) clients.pop()!.disconnect();
});

/** The fail-fast connection the app uses (no offline queue), to `url`. */
function producer(url: string): Redis {
  const client = connectSingleRedis(url, 'producer');
  clients.push(client);
  return client;
}

/** Resolves on the client's next `event`, bounded in time. */
function next(client: Redis, event: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} event`)), 10_000);
    client.once(event, (value: unknown) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

describe('connectionCause', () => {
  it('takes a socket error as the cause, with its code', async () => {
    const port = await freePort();
    const client = producer(`redis://127.0.0.1:${port}`);
    const error = next(client, 'error');
    client.connect().catch(() => undefined);
    expect(connectionCause(await error)).toEqual({
      message: `connect ECONNREFUSED 127.0.0.1:${port}`,
      code: 'ECONNREFUSED',
    });
  });

  it("says nothing for ioredis's rejection of a command sent while the link is down", async () => {
    const port = await freePort();
    const client = producer(`redis://127.0.0.1:${port}`);
    const error = next(client, 'error');
    client.connect().catch(() => undefined);
    await error;
    const rejection = await client.ping().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(rejection).toBeInstanceOf(Error);
    expect(isCommandRejection(rejection)).toBe(true);
    expect(connectionCause(rejection)).toBeUndefined();
    expect(connectionCause(new Error('Connection is closed.'))).toBeUndefined();
  });

  it("unwraps a host name's AggregateError and a Cluster's last node error", () => {
    const refused = (address: string): Error =>
      Object.assign(new Error(`connect ECONNREFUSED ${address}`), { code: 'ECONNREFUSED' });
    const aggregate = Object.assign(
      new AggregateError([refused('::1:6390'), refused('127.0.0.1:6390')], ''),
      {
        code: 'ECONNREFUSED',
      },
    );
    expect(connectionCause(aggregate)).toEqual({
      message: 'connect ECONNREFUSED ::1:6390, connect ECONNREFUSED 127.0.0.1:6390',
      code: 'ECONNREFUSED',
    });
    const cluster = Object.assign(new Error('Failed to refresh slots cache.'), {
      lastNodeError: refused('10.0.0.1:7000'),
    });
    expect(connectionCause(cluster)).toEqual({
      message: 'connect ECONNREFUSED 10.0.0.1:7000',
      code: 'ECONNREFUSED',
    });
    // A last node error that is itself only a rejection leaves the Cluster's own text.
    const rejected = Object.assign(new Error('Failed to refresh slots cache.'), {
      lastNodeError: new Error('Connection is closed.'),
    });
    expect(connectionCause(rejected)).toEqual({ message: 'Failed to refresh slots cache.' });
  });
});

describe('watchRedisLink', () => {
  it('counts failed attempts with the connection error as cause, and resets once ready', async () => {
    const port = await freePort();
    const down = producer(`redis://127.0.0.1:${port}`);
    const link = watchRedisLink(down, `127.0.0.1:${port}`);
    expect(link.problem()).toBeUndefined();
    const firstError = next(down, 'error');
    down.connect().catch(() => undefined);
    await firstError;
    // A command refused meanwhile does not replace the cause.
    await down.ping().catch(() => undefined);
    await next(down, 'error');
    expect(link.problem()).toEqual({
      address: `127.0.0.1:${port}`,
      cause: { message: `connect ECONNREFUSED 127.0.0.1:${port}`, code: 'ECONNREFUSED' },
      attempt: 2,
    });
    expect(link.hasBeenReady()).toBe(false);

    const up = producer(REDIS_URL);
    const upLink = watchRedisLink(up, 'the test Redis');
    await up.connect();
    expect(upLink.problem()).toBeUndefined();
    expect(upLink.hasBeenReady()).toBe(true);
  });
});
