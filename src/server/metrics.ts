import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { describeError } from '../errors.js';
import { EVENT_TYPES, UNKNOWN_EVENT_TYPE } from '../events/catalog.js';
import type { DarkReason } from '../gateway/dark-time.js';
import type { GatewaySessionHooks, ReconnectReason, ShardStatus } from '../gateway/session.js';
import type { RotationReason, RotationResult } from '../gateway/rotation.js';
import type { ReplyOutcome } from '../delivery/replies.js';
import type { WebhookRejectReason } from '../ingress/callback.js';
import { silentLogger, type Logger } from '../log.js';
import type { DeadLetterTrimReason } from '../queue/dead-letter-retention.js';
import type { OutboundOutcome } from '../outbound/worker.js';
import type { AttemptRecord } from '../queue/job.js';
import { withTimeout } from '../util/with-timeout.js';
import { HEALTHY_SHARD_STATUSES } from './readiness.js';

/**
 * Outcome label of `qqwb_deliveries_total`, one per attempt: the three attempt outcomes, except that a retryable
 * failure with no attempts left counts as `dead_lettered` instead of `retry`. Jobs in the dead-letter queue are
 * therefore `rejected` + `dead_lettered`.
 */
export type DeliveryOutcome = AttemptRecord['outcome'] | 'dead_lettered';

/** The BullMQ job states `qqwb_queue_depth` reports. */
export type QueueState = 'waiting' | 'active' | 'delayed' | 'failed';

/** One row of the queue depth source. */
export interface QueueDepth {
  readonly target: string;
  readonly state: QueueState;
  readonly count: number;
}

/** One row of the outbound queue depth source: jobs of the bot's outbound queue in one state. */
export interface OutboundDepth {
  readonly state: QueueState;
  readonly count: number;
}

/** When the session a shard runs now was created (its READY), for `qqwb_gateway_session_age_seconds`. */
export interface SessionStart {
  readonly shard: number;
  readonly startedAt: number;
}

/** Why the gateway session refused a frame. */
export type FrameRejectReason = Parameters<NonNullable<GatewaySessionHooks['onRejectedFrame']>>[0];

/**
 * The bridge's Prometheus metrics on a private registry. Every label value is bounded: targets and shards come from
 * the config, reasons and outcomes from fixed unions, and event types from the catalog.
 */
export interface BridgeMetrics {
  /** The private registry; never prom-client's global one, so several instances can live in one process. */
  readonly registry: Registry;
  /** The `Content-Type` of {@link BridgeMetrics.render}'s output. */
  readonly contentType: string;
  /**
   * Counts one event received from the gateway. Pass the normalized envelope `type` (`group.message.created`),
   * never QQ's raw `t`: anything outside the catalog is counted as `qq.unknown`, because a raw name from the
   * network would make the label set unbounded.
   */
  eventReceived(type: string): void;
  /** Counts one delivery job enqueued for `target`. */
  eventEnqueued(target: string): void;
  /** Counts one event `target`'s `events`/`groups` filter kept from it (`qqwb_events_filtered_total`). */
  eventFiltered(target: string): void;
  /** Counts one delivery attempt; `seconds` (request latency), when known, goes into the duration histogram. */
  delivery(target: string, outcome: DeliveryOutcome, seconds?: number): void;
  /** Counts `count` dead letters of `target` deleted by the retention of `delivery.dead_letter`. */
  deadLettersTrimmed(target: string, reason: DeadLetterTrimReason, count: number): void;
  /**
   * Counts one outbound run by outcome (`qqwb_outbound_total`: sent, duplicate, retry, failed, expired);
   * `seconds`, the QQ call's latency when one was made, goes into `qqwb_outbound_send_seconds`.
   */
  outbound(outcome: OutboundOutcome, seconds?: number): void;
  /** Counts `count` dead letters of the bot's outbound queue deleted by the retention of `delivery.dead_letter`. */
  outboundDeadLettersTrimmed(reason: DeadLetterTrimReason, count: number): void;
  reconnect(shard: number, reason: ReconnectReason): void;
  /** Adds one dark episode of `shard` (not READY/RESUMED) to `qqwb_gateway_dark_seconds_total`. */
  gatewayDark(shard: number, reason: DarkReason, seconds: number): void;
  /** Called at every scrape to fill `qqwb_gateway_session_age_seconds` (epoch ms of each shard's READY). */
  setSessionAgeSource(source: () => readonly SessionStart[]): void;
  /** Counts one gateway session rotation (`qqwb_gateway_rotations_total`) by why it was tried and how it ended. */
  rotation(shard: number, reason: RotationReason, result: RotationResult): void;
  /** Counts one failed save of a shard's session id and seq (a retry that fails counts again). */
  sessionSaveFailed(shard: number): void;
  frameRejected(reason: FrameRejectReason): void;
  /** Counts one QQ HTTP callback refused by the webhook ingress (bad signature, stale, too large, not stored…). */
  webhookRejected(reason: WebhookRejectReason): void;
  /**
   * Counts one answered send-API request. `route` is the route's path template (`/v1/messages/{id}`) or
   * `unmatched`, never the request path, so the label set stays bounded.
   */
  apiRequest(route: string, status: number): void;
  /** Counts one reply read from `target`'s answer, by what became of it (`qqwb_replies_total`). */
  reply(target: string, outcome: ReplyOutcome): void;
  /** Sets `qqwb_shard_ready{shard}` to 1 for READY/RESUMED, else 0. */
  shardStatus(shard: number, status: ShardStatus): void;
  /** Called at every scrape to fill `qqwb_queue_depth`; without one the gauge has no series. */
  setQueueDepthSource(source: () => Promise<readonly QueueDepth[]>): void;
  /** Called at every scrape to fill `qqwb_outbound_queue_depth`; without one the gauge has no series. */
  setOutboundDepthSource(source: () => Promise<readonly OutboundDepth[]>): void;
  /** Called at every scrape to fill `qqwb_journal_events`; without one the gauge reads 0. */
  setJournalDepthSource(source: () => number): void;
  /** The Prometheus text exposition of every metric. */
  render(): Promise<string>;
}

/** Options of {@link createMetrics}. */
export interface MetricsOptions {
  /** Receives debug lines when a depth source fails. Default: silent. */
  readonly logger?: Logger;
  /**
   * How long a scrape waits for the queue depth source before reporting no depth; default 2000 ms. A Redis that
   * stopped answering must not hold `/metrics` until Prometheus's own scrape timeout discards everything else.
   */
  readonly queueDepthTimeoutMs?: number;
}

/** Webhook latencies: from a fast local receiver (5 ms) to the longest sensible timeout (30 s). */
const DURATION_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** How often the event-loop-delay histogram (`nodejs_eventloop_lag_*`) takes a sample. */
const EVENT_LOOP_SAMPLE_MS = 100;

const KNOWN_EVENT_TYPES: ReadonlySet<string> = new Set(EVENT_TYPES);
/** Joins two label values into one cache key; no target id or outcome contains a NUL. */
const LABEL_SEPARATOR = '\u0000';

/** `make(key)`, computed once per key. */
function childrenBy<C>(make: (key: string) => C): (key: string) => C {
  const children = new Map<string, C>();
  return (key) => {
    let child = children.get(key);
    if (child === undefined) {
      child = make(key);
      children.set(key, child);
    }
    return child;
  };
}

/** Creates the metrics, each on a new private registry along with prom-client's default process metrics. */
export function createMetrics(options: MetricsOptions = {}): BridgeMetrics {
  const log = (options.logger ?? silentLogger()).child({ component: 'metrics' });
  const queueDepthTimeoutMs = options.queueDepthTimeoutMs ?? 2000;
  const registry = new Registry();
  // The event-loop-delay histogram samples on a native timer; prom-client's 10 ms default wakes an idle process
  // 100 times a second (more loop turns than a busy bridge spends on its events). 100 ms still catches every
  // stall long enough to matter, in full.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  const registers = [registry];

  let queueDepthSource: (() => Promise<readonly QueueDepth[]>) | undefined;
  let outboundDepthSource: (() => Promise<readonly OutboundDepth[]>) | undefined;
  let journalDepthSource: (() => number) | undefined;
  let sessionAgeSource: (() => readonly SessionStart[]) | undefined;

  const received = new Counter({
    name: 'qqwb_events_received_total',
    help: 'Events received from the QQ gateway, by normalized envelope type.',
    labelNames: ['type'] as const,
    registers,
  });
  const enqueued = new Counter({
    name: 'qqwb_events_enqueued_total',
    help: 'Delivery jobs enqueued, by target.',
    labelNames: ['target'] as const,
    registers,
  });
  const filtered = new Counter({
    name: 'qqwb_events_filtered_total',
    help: 'Events not enqueued for a target because its filter (events, groups) does not match, by target.',
    labelNames: ['target'] as const,
    registers,
  });
  const deliveries = new Counter({
    name: 'qqwb_deliveries_total',
    help: 'Delivery attempts by target and outcome (delivered, retry, rejected, dead_lettered).',
    labelNames: ['target', 'outcome'] as const,
    registers,
  });
  const deadLettersTrimmed = new Counter({
    name: 'qqwb_dead_letters_trimmed_total',
    help: 'Dead letters deleted by retention (delivery.dead_letter), by target and reason (age, count).',
    labelNames: ['target', 'reason'] as const,
    registers,
  });
  // Its own metric, not a `target` value: any value could also be the id of a target.
  const outboundDeadLettersTrimmed = new Counter({
    name: 'qqwb_outbound_dead_letters_trimmed_total',
    help:
      "Dead letters of the bot's outbound queue (failed replies and sends) deleted by retention " +
      '(delivery.dead_letter), by reason (age, count).',
    labelNames: ['reason'] as const,
    registers,
  });
  const duration = new Histogram({
    name: 'qqwb_delivery_duration_seconds',
    help: 'Webhook request latency, by target.',
    labelNames: ['target'] as const,
    buckets: DURATION_BUCKETS_S,
    registers,
  });
  // Label children looked up once per label value: every event and delivery counts, and prom-client hashes the
  // label object on each `inc`/`observe` given one. None of these metrics is ever reset, so a cached child stays
  // the one the registry reports. Label values are event types and configured target ids: a few each.
  const receivedOf = childrenBy((type) => received.labels({ type }));
  const enqueuedOf = childrenBy((target) => enqueued.labels({ target }));
  const durationOf = childrenBy((target) => duration.labels({ target }));
  const deliveriesOf = childrenBy((targetAndOutcome) => {
    const [target = '', outcome = ''] = targetAndOutcome.split(LABEL_SEPARATOR);
    return deliveries.labels({ target, outcome });
  });
  new Gauge({
    name: 'qqwb_queue_depth',
    help: 'Delivery jobs per target and state, read from Redis at scrape time.',
    labelNames: ['target', 'state'] as const,
    registers,
    async collect() {
      // Reset first: a failed read then exposes no series rather than stale ones that look current.
      this.reset();
      if (!queueDepthSource) return;
      try {
        const rows = await withTimeout(queueDepthSource(), queueDepthTimeoutMs);
        for (const row of rows) this.set({ target: row.target, state: row.state }, row.count);
      } catch (err) {
        log.debug({ err: describeError(err) }, 'queue depth unavailable for this scrape');
      }
    },
  });
  const outbound = new Counter({
    name: 'qqwb_outbound_total',
    help: 'Outbound message runs by outcome (sent, duplicate, retry, failed, expired).',
    labelNames: ['outcome'] as const,
    registers,
  });
  const outboundSeconds = new Histogram({
    name: 'qqwb_outbound_send_seconds',
    help: 'Latency of the calls to QQ that send outbound messages and interaction acknowledgements.',
    buckets: DURATION_BUCKETS_S,
    registers,
  });
  new Gauge({
    name: 'qqwb_outbound_queue_depth',
    help: "Jobs of the bot's outbound queue per state, read from Redis at scrape time.",
    labelNames: ['state'] as const,
    registers,
    async collect() {
      this.reset();
      if (!outboundDepthSource) return;
      try {
        const rows = await withTimeout(outboundDepthSource(), queueDepthTimeoutMs);
        for (const row of rows) this.set({ state: row.state }, row.count);
      } catch (err) {
        log.debug({ err: describeError(err) }, 'outbound queue depth unavailable for this scrape');
      }
    },
  });
  const reconnects = new Counter({
    name: 'qqwb_gateway_reconnects_total',
    help: 'Gateway reconnects, by shard and reason.',
    labelNames: ['shard', 'reason'] as const,
    registers,
  });
  const darkSeconds = new Counter({
    name: 'qqwb_gateway_dark_seconds_total',
    help:
      'Seconds a shard was not READY/RESUMED (could not receive events), by shard and the reason that began it ' +
      '(a reconnect reason, or start); added when the shard is healthy again.',
    labelNames: ['shard', 'reason'] as const,
    registers,
  });
  new Gauge({
    name: 'qqwb_gateway_session_age_seconds',
    help: "Seconds since the READY that created each shard's current session (resumes keep the session).",
    labelNames: ['shard'] as const,
    registers,
    collect() {
      this.reset();
      if (!sessionAgeSource) return;
      const now = Date.now();
      for (const row of sessionAgeSource()) {
        this.set({ shard: String(row.shard) }, Math.max(0, now - row.startedAt) / 1000);
      }
    },
  });
  const rotations = new Counter({
    name: 'qqwb_gateway_rotations_total',
    help: 'Gateway session rotations (a fresh session opened beside the current one), by shard, reason and result.',
    labelNames: ['shard', 'reason', 'result'] as const,
    registers,
  });
  const saveFailures = new Counter({
    name: 'qqwb_session_save_failures_total',
    help: 'Failed saves of the session id and seq a shard resumes from, by shard.',
    labelNames: ['shard'] as const,
    registers,
  });
  const framesRejected = new Counter({
    name: 'qqwb_gateway_frames_rejected_total',
    help: 'Gateway frames ignored because they were not JSON objects or exceeded the size cap.',
    labelNames: ['reason'] as const,
    registers,
  });
  const webhookRejected = new Counter({
    name: 'qqwb_webhook_rejected_total',
    help: 'QQ HTTP callbacks refused by the webhook ingress, by reason.',
    labelNames: ['reason'] as const,
    registers,
  });
  const replies = new Counter({
    name: 'qqwb_replies_total',
    help: "Replies in targets' answers, by target and outcome (enqueued, refused, malformed, over_limit).",
    labelNames: ['target', 'outcome'] as const,
    registers,
  });
  new Gauge({
    name: 'qqwb_journal_events',
    help: 'Events held in the local journal while Redis is unreachable or draining.',
    registers,
    collect() {
      if (!journalDepthSource) return;
      try {
        this.set(journalDepthSource());
      } catch (err) {
        log.debug({ err: describeError(err) }, 'journal depth unavailable for this scrape');
      }
    },
  });
  const apiRequests = new Counter({
    name: 'qqwb_api_requests_total',
    help: 'Send API requests (/v1), by route template and HTTP status.',
    labelNames: ['route', 'status'] as const,
    registers,
  });
  const shardReady = new Gauge({
    name: 'qqwb_shard_ready',
    help: '1 while the shard is READY or RESUMED, else 0.',
    labelNames: ['shard'] as const,
    registers,
  });

  return {
    registry,
    contentType: registry.contentType,
    eventReceived(type) {
      receivedOf(KNOWN_EVENT_TYPES.has(type) ? type : UNKNOWN_EVENT_TYPE).inc();
    },
    eventEnqueued(target) {
      enqueuedOf(target).inc();
    },
    eventFiltered(target) {
      filtered.inc({ target });
    },
    delivery(target, outcome, seconds) {
      deliveriesOf(`${target}${LABEL_SEPARATOR}${outcome}`).inc();
      if (seconds !== undefined && Number.isFinite(seconds) && seconds >= 0)
        durationOf(target).observe(seconds);
    },
    deadLettersTrimmed(target, reason, count) {
      deadLettersTrimmed.inc({ target, reason }, count);
    },
    outbound(outcome, seconds) {
      outbound.inc({ outcome });
      if (seconds !== undefined && Number.isFinite(seconds) && seconds >= 0) outboundSeconds.observe(seconds);
    },
    outboundDeadLettersTrimmed(reason, count) {
      outboundDeadLettersTrimmed.inc({ reason }, count);
    },
    reconnect(shard, reason) {
      reconnects.inc({ shard: String(shard), reason });
    },
    gatewayDark(shard, reason, seconds) {
      if (Number.isFinite(seconds) && seconds >= 0)
        darkSeconds.inc({ shard: String(shard), reason }, seconds);
    },
    setSessionAgeSource(source) {
      sessionAgeSource = source;
    },
    rotation(shard, reason, result) {
      rotations.inc({ shard: String(shard), reason, result });
    },
    sessionSaveFailed(shard) {
      saveFailures.inc({ shard: String(shard) });
    },
    frameRejected(reason) {
      framesRejected.inc({ reason });
    },
    webhookRejected(reason) {
      webhookRejected.inc({ reason });
    },
    apiRequest(route, status) {
      apiRequests.inc({ route, status: String(status) });
    },
    reply(target, outcome) {
      replies.inc({ target, outcome });
    },
    shardStatus(shard, status) {
      shardReady.set({ shard: String(shard) }, HEALTHY_SHARD_STATUSES.has(status) ? 1 : 0);
    },
    setQueueDepthSource(source) {
      queueDepthSource = source;
    },
    setOutboundDepthSource(source) {
      outboundDepthSource = source;
    },
    setJournalDepthSource(source) {
      journalDepthSource = source;
    },
    render: () => registry.metrics(),
  };
}
