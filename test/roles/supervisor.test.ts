import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { stagedPart, Supervisor, type Part } from '../../src/roles/supervisor.js';

function recordingLogger() {
  const lines: { msg: string; part?: string; err?: string }[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}

/** A part that records its start and stop in `events`; `fail` makes that step throw after recording it. */
function part(name: string, events: string[], fail: { start?: boolean; stop?: boolean } = {}): Part {
  return {
    name,
    start() {
      events.push(`start ${name}`);
      return fail.start ? Promise.reject(new Error(`${name} failed to start`)) : Promise.resolve();
    },
    stop() {
      events.push(`stop ${name}`);
      return fail.stop ? Promise.reject(new Error(`${name} failed to stop`)) : Promise.resolve();
    },
  };
}

describe('Supervisor', () => {
  it('starts parts in order and stops them in reverse, once', async () => {
    const events: string[] = [];
    const supervisor = new Supervisor(recordingLogger().logger);
    await supervisor.start([part('a', events), part('b', events), part('c', events)], undefined);
    await supervisor.stop();
    await supervisor.stop();
    expect(events).toEqual(['start a', 'start b', 'start c', 'stop c', 'stop b', 'stop a']);
  });

  it('runs every stop when one throws, logging the part that failed', async () => {
    const events: string[] = [];
    const { logger, lines } = recordingLogger();
    const supervisor = new Supervisor(logger);
    await supervisor.start(
      [part('a', events), part('b', events, { stop: true }), part('c', events)],
      undefined,
    );
    await supervisor.stop();
    expect(events.filter((e) => e.startsWith('stop'))).toEqual(['stop c', 'stop b', 'stop a']);
    expect(lines.filter((l) => l.msg.startsWith('error during shutdown'))).toMatchObject([
      { part: 'bridge', err: 'b failed to stop' },
    ]);
  });

  it('stops a part whose start failed half-way, and starts nothing after it', async () => {
    const events: string[] = [];
    const supervisor = new Supervisor(recordingLogger().logger);
    await expect(
      supervisor.start([part('a', events), part('b', events, { start: true }), part('c', events)], undefined),
    ).rejects.toThrow('b failed to start');
    await supervisor.stop();
    expect(events).toEqual(['start a', 'start b', 'stop b', 'stop a']);
  });

  it('releases a staged part’s steps newest first, each even when another throws, and only those it reached', async () => {
    const events: string[] = [];
    const { logger, lines } = recordingLogger();
    const staged = stagedPart('gateway', logger, (stops) => {
      stops.push(() => void events.push('close pipeline'));
      stops.push(() => {
        events.push('stop writer');
        throw new Error('writer failed to stop');
      });
      stops.push(() => void events.push('stop shards'));
      throw new Error('QQ is away');
    });
    const supervisor = new Supervisor(logger);
    await expect(supervisor.start([staged], undefined)).rejects.toThrow('QQ is away');
    await supervisor.stop();
    expect(events).toEqual(['stop shards', 'stop writer', 'close pipeline']);
    expect(lines.filter((l) => l.msg.startsWith('error during shutdown'))).toMatchObject([
      { part: 'gateway', err: 'writer failed to stop' },
    ]);
  });
});
