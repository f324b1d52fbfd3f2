import { register as globalRegistry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createMetrics, type QueueDepth } from '../../src/server/metrics.js';
import { BRIDGE_METRIC_NAMES, captureLogger } from './fixtures.js';

describe('createMetrics', () => {
  it('exposes every bridge metric and the default process metrics after a few helper calls', async () => {
    const metrics = createMetrics();
    metrics.eventReceived('group.message.created');
    metrics.eventEnqueued('backend');
    metrics.eventFiltered('backend');
    metrics.delivery('backend', 'delivered', 0.042);
    metrics.reconnect(0, 'op7');
    metrics.sessionSaveFailed(0);
    metrics.rotation(0, 'age', 'rotated');
    metrics.frameRejected('not_json');
    metrics.shardStatus(0, 'ready');
    metrics.setQueueDepthSource(() => Promise.resolve([{ target: 'backend', state: 'waiting', count: 3 }]));
    metrics.setJournalDepthSource(() => 5);
    metrics.outbound('sent', 0.2);
    metrics.setOutboundDepthSource(() => Promise.resolve([{ state: 'delayed', count: 2 }]));
    metrics.apiRequest('/v1/messages/{id}', 404);

    const text = await metrics.render();
    for (const name of BRIDGE_METRIC_NAMES) expect(text).toContain(`# TYPE ${name} `);
    expect(text).toContain('process_cpu_seconds_total');
    expect(text).toContain('qqwb_events_received_total{type="group.message.created"} 1');
    expect(text).toContain('qqwb_events_enqueued_total{target="backend"} 1');
    expect(text).toContain('qqwb_events_filtered_total{target="backend"} 1');
    expect(text).toContain('qqwb_deliveries_total{target="backend",outcome="delivered"} 1');
    expect(text).toContain('qqwb_delivery_duration_seconds_bucket{le="0.05",target="backend"} 1');
    expect(text).toContain('qqwb_delivery_duration_seconds_bucket{le="0.025",target="backend"} 0');
    expect(text).toContain('qqwb_delivery_duration_seconds_bucket{le="30",target="backend"} 1');
    expect(text).toContain('qqwb_gateway_reconnects_total{shard="0",reason="op7"} 1');
    expect(text).toContain('qqwb_session_save_failures_total{shard="0"} 1');
    expect(text).toContain('qqwb_gateway_rotations_total{shard="0",reason="age",result="rotated"} 1');
    expect(text).toContain('qqwb_gateway_frames_rejected_total{reason="not_json"} 1');
    expect(text).toContain('qqwb_shard_ready{shard="0"} 1');
    expect(text).toContain('qqwb_api_requests_total{route="/v1/messages/{id}",status="404"} 1');
    expect(text).toContain('qqwb_queue_depth{target="backend",state="waiting"} 3');
    expect(text).toContain('qqwb_journal_events 5');
    expect(text).toContain('qqwb_outbound_total{outcome="sent"} 1');
    expect(text).toContain('qqwb_outbound_send_seconds_bucket{le="0.25"} 1');
    expect(text).toContain('qqwb_outbound_queue_depth{state="delayed"} 2');
    expect(metrics.contentType).toMatch(/^text\/plain/);
  });

  it('uses a private registry, so several instances live in one process and the global one stays empty', async () => {
    const a = createMetrics();
    const b = createMetrics();
    a.eventEnqueued('only-a');
    expect(await a.render()).toContain('target="only-a"');
    expect(await b.render()).not.toContain('target="only-a"');
    expect(a.registry).not.toBe(b.registry);
    expect(globalRegistry.getSingleMetric('qqwb_events_enqueued_total')).toBeUndefined();
  });

  it('counts outbound runs by outcome and observes the QQ call latency only when one was made', async () => {
    const metrics = createMetrics();
    metrics.outbound('retry', 0.5);
    metrics.outbound('duplicate', 0.01);
    metrics.outbound('expired');
    metrics.outbound('failed', Number.NaN);
    const text = await metrics.render();
    for (const outcome of ['retry', 'duplicate', 'expired', 'failed']) {
      expect(text).toContain(`qqwb_outbound_total{outcome="${outcome}"} 1`);
    }
    expect(text).toContain('qqwb_outbound_send_seconds_count 2');
  });

  it('counts an event type outside the catalog as qq.unknown, keeping the label set bounded', async () => {
    const metrics = createMetrics();
    metrics.eventReceived('GROUP_AT_MESSAGE_CREATE');
    metrics.eventReceived('something-from-the-network-4711');
    metrics.eventReceived('qq.unknown');
    const text = await metrics.render();
    expect(text).toContain('qqwb_events_received_total{type="qq.unknown"} 3');
    expect(text).not.toContain('GROUP_AT_MESSAGE_CREATE');
  });

  it('counts dead-lettered deliveries separately and observes latency only when given', async () => {
    const metrics = createMetrics();
    metrics.delivery('a', 'retry', 1.5);
    metrics.delivery('a', 'dead_lettered');
    metrics.delivery('a', 'rejected', Number.NaN);
    const text = await metrics.render();
    expect(text).toContain('qqwb_deliveries_total{target="a",outcome="retry"} 1');
    expect(text).toContain('qqwb_deliveries_total{target="a",outcome="dead_lettered"} 1');
    expect(text).toContain('qqwb_deliveries_total{target="a",outcome="rejected"} 1');
    expect(text).toContain('qqwb_delivery_duration_seconds_count{target="a"} 1');
  });

  it('keeps each target and outcome its own count across repeated deliveries and events', async () => {
    const metrics = createMetrics();
    for (let i = 0; i < 3; i++) metrics.delivery('a', 'delivered', 0.01);
    metrics.delivery('b', 'delivered', 0.01);
    metrics.delivery('a', 'retry', 0.01);
    for (let i = 0; i < 2; i++) metrics.eventEnqueued('b');
    metrics.eventEnqueued('a');
    const text = await metrics.render();
    expect(text).toContain('qqwb_deliveries_total{target="a",outcome="delivered"} 3');
    expect(text).toContain('qqwb_deliveries_total{target="b",outcome="delivered"} 1');
    expect(text).toContain('qqwb_deliveries_total{target="a",outcome="retry"} 1');
    expect(text).toContain('qqwb_delivery_duration_seconds_count{target="a"} 4');
    expect(text).toContain('qqwb_delivery_duration_seconds_count{target="b"} 1');
    expect(text).toContain('qqwb_events_enqueued_total{target="b"} 2');
    expect(text).toContain('qqwb_events_enqueued_total{target="a"} 1');
  });

  it('marks a shard not ready (0) for every status other than ready and resumed', async () => {
    const metrics = createMetrics();
    metrics.shardStatus(0, 'ready');
    metrics.shardStatus(1, 'resumed');
    metrics.shardStatus(2, 'waiting');
    metrics.shardStatus(0, 'connecting');
    const text = await metrics.render();
    expect(text).toContain('qqwb_shard_ready{shard="0"} 0');
    expect(text).toContain('qqwb_shard_ready{shard="1"} 1');
    expect(text).toContain('qqwb_shard_ready{shard="2"} 0');
  });

  it('reads queue depths at every scrape and drops rows that are no longer reported', async () => {
    const metrics = createMetrics();
    let rows: QueueDepth[] = [
      { target: 'a', state: 'waiting', count: 2 },
      { target: 'b', state: 'failed', count: 9 },
    ];
    metrics.setQueueDepthSource(() => Promise.resolve(rows));
    const first = await metrics.render();
    expect(first).toContain('qqwb_queue_depth{target="a",state="waiting"} 2');
    expect(first).toContain('qqwb_queue_depth{target="b",state="failed"} 9');
    rows = [{ target: 'a', state: 'active', count: 1 }];
    const second = await metrics.render();
    expect(second).toContain('qqwb_queue_depth{target="a",state="active"} 1');
    expect(second).not.toContain('target="b"');
  });

  it('still renders when the queue depth source throws, with no depth series, and logs at debug', async () => {
    const { logger, lines } = captureLogger();
    const metrics = createMetrics({ logger });
    metrics.setQueueDepthSource(() => Promise.resolve([{ target: 'a', state: 'waiting', count: 1 }]));
    await metrics.render();
    metrics.setQueueDepthSource(() => Promise.reject(new Error('connection is closed')));
    metrics.setJournalDepthSource(() => {
      throw new Error('journal closed');
    });
    metrics.eventEnqueued('a');

    const text = await metrics.render();
    expect(text).toContain('qqwb_events_enqueued_total{target="a"} 1');
    expect(text).toContain('# TYPE qqwb_queue_depth gauge');
    expect(text).not.toMatch(/^qqwb_queue_depth\{/m);
    const debug = lines().filter((line) => line.level === 20);
    expect(debug.map((line) => [line.msg, line.err]).sort()).toEqual([
      ['journal depth unavailable for this scrape', 'journal closed'],
      ['queue depth unavailable for this scrape', 'connection is closed'],
    ]);
  });

  it('gives up on a queue depth source that does not answer within the timeout', async () => {
    const metrics = createMetrics({ queueDepthTimeoutMs: 50 });
    metrics.setQueueDepthSource(() => new Promise<never>(() => undefined));
    const started = Date.now();
    const text = await metrics.render();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(text).toContain('qqwb_journal_events');
    expect(text).not.toMatch(/^qqwb_queue_depth\{/m);
  });
});
