import { describe, expect, it } from 'vitest';
import {
  nextStatus,
  SessionState,
  type SessionEvent,
  type ShardStatus,
} from '../../src/gateway/session-state.js';
import { silentLogger } from '../../src/log.js';

describe('the session state table', () => {
  it.each([
    ['idle', 'connect', 'connecting'],
    ['connecting', 'identify_sent', 'identifying'],
    ['connecting', 'resume_sent', 'resuming'],
    ['identifying', 'ready', 'ready'],
    ['resuming', 'resumed', 'resumed'],
    ['resuming', 'ready', 'ready'],
    ['ready', 'connection_ended', 'waiting'],
    ['resumed', 'connection_ended', 'waiting'],
    ['connecting', 'connection_ended', 'waiting'],
    ['waiting', 'connect', 'connecting'],
    ['identifying', 'fatal', 'fatal'],
    ['fatal', 'stop', 'stopped'],
    ['ready', 'stop', 'stopped'],
  ] as [ShardStatus, SessionEvent, ShardStatus][])('%s --%s--> %s', (from, event, to) => {
    expect(nextStatus(from, event)).toBe(to);
  });

  it.each([
    ['idle', 'ready'],
    ['connecting', 'ready'],
    ['identifying', 'resumed'],
    ['ready', 'ready'],
    ['ready', 'identify_sent'],
    ['waiting', 'ready'],
    ['fatal', 'connect'],
    ['stopped', 'connect'],
  ] as [ShardStatus, SessionEvent][])('%s does not allow %s', (from, event) => {
    expect(nextStatus(from, event)).toBeUndefined();
  });

  it('logs an illegal event, keeps its status and does not throw', () => {
    const warnings: unknown[] = [];
    const log = silentLogger();
    log.warn = (fields: unknown) => {
      warnings.push(fields);
    };
    const changes: ShardStatus[] = [];
    const state = new SessionState(log, (status) => changes.push(status));
    expect(state.fire('connect')).toBe(true);
    expect(state.fire('ready')).toBe(false);
    expect(state.status).toBe('connecting');
    expect(warnings).toEqual([{ status: 'connecting', event: 'ready' }]);
    expect(state.fire('identify_sent')).toBe(true);
    expect(state.fire('ready')).toBe(true);
    expect(changes).toEqual(['connecting', 'identifying', 'ready']);
  });
});
