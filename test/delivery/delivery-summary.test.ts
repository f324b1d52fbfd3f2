import { describe, expect, it } from 'vitest';
import { TargetTally, startDeliverySummary, summaryMessage } from '../../src/delivery/delivery-summary.js';
import { captureLogs, waitUntil } from '../queue/journal-fixtures.js';

describe('TargetTally', () => {
  it('counts each kind and gives the median and maximum latency', () => {
    const tally = new TargetTally('orders');
    for (const ms of [12, 5, 210, 12, 9]) tally.recordDelivered(ms);
    tally.recordRetried(30);
    tally.recordDeadLettered();
    expect([tally.delivered, tally.retried, tally.deadLettered]).toEqual([5, 1, 1]);
    // latencies 5, 9, 12, 12, 30, 210: the lower median
    expect(tally.latencies()).toEqual({ p50: 12, max: 210 });
    expect(summaryMessage(tally, 10_000)).toBe(
      'target "orders": 5 delivered, 1 retried, 1 dead-lettered in the last 10 s (latency p50 12 ms, max 210 ms)',
    );
  });

  it('starts over after a reset', () => {
    const tally = new TargetTally('orders');
    tally.recordDelivered(400);
    tally.reset();
    expect(tally.active).toBe(false);
    tally.recordDelivered(3);
    expect(tally.latencies()).toEqual({ p50: 3, max: 3 });
  });

  it('keeps counting past the latency sample buffer, with the exact maximum', () => {
    const tally = new TargetTally('orders');
    for (let i = 0; i < 5000; i++) tally.recordDelivered(i === 17 ? 999 : 10);
    expect(tally.delivered).toBe(5000);
    expect(tally.latencies()).toEqual({ p50: 10, max: 999 });
  });

  it('leaves latency out of the message when no attempt reached the target', () => {
    const tally = new TargetTally('orders');
    tally.recordDeadLettered();
    expect(summaryMessage(tally, 250)).toBe(
      'target "orders": 0 delivered, 0 retried, 1 dead-lettered in the last 250 ms',
    );
  });
});

describe('startDeliverySummary', () => {
  it('logs one info line per active target per window, from one timer', async () => {
    const { logger, lines } = captureLogs();
    const summary = startDeliverySummary({ logger, intervalMs: 20 });
    try {
      summary.tally('a').recordDelivered(4);
      summary.tally('a').recordDelivered(8);
      summary.tally('b').recordRetried(2);
      summary.tally('idle');
      await waitUntil(() => lines.length >= 2, 'two summary lines');
      expect(lines.map((line) => [line.level, line.targetId, line.delivered, line.retried])).toEqual([
        [30, 'a', 2, 0],
        [30, 'b', 0, 1],
      ]);
      expect(lines[0]).toMatchObject({ deadLettered: 0, latencyP50Ms: 4, latencyMaxMs: 8 });
    } finally {
      summary.stop();
    }
    // The windows after were empty (nothing was recorded since), so neither the timer nor stop() added a line.
    expect(lines).toHaveLength(2);
  });

  it('logs the last, partial window on stop', () => {
    const { logger, lines } = captureLogs();
    const summary = startDeliverySummary({ logger, intervalMs: 60_000 });
    summary.tally('a').recordDeadLettered(7);
    expect(lines).toHaveLength(0);
    summary.stop();
    expect(lines).toHaveLength(1);
    expect(lines[0]!.msg).toMatch(/^target "a": 0 delivered, 0 retried, 1 dead-lettered in the last \d+ ms/);
  });
});
