import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/log.js';

/** A real pino logger whose JSON lines are kept in memory, for asserting what was logged. */
export function captureLogger(level = 'debug'): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = createLogger({ level, pretty: false, destination });
  const lines = (): Record<string, unknown>[] =>
    chunks
      .join('')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { logger, lines };
}

/** Every metric the bridge defines (docs/design.md §6); `/metrics` must expose each of them. */
export const BRIDGE_METRIC_NAMES = [
  'qqwb_events_received_total',
  'qqwb_events_enqueued_total',
  'qqwb_events_filtered_total',
  'qqwb_deliveries_total',
  'qqwb_delivery_duration_seconds',
  'qqwb_queue_depth',
  'qqwb_gateway_reconnects_total',
  'qqwb_gateway_rotations_total',
  'qqwb_gateway_frames_rejected_total',
  'qqwb_session_save_failures_total',
  'qqwb_webhook_rejected_total',
  'qqwb_journal_events',
  'qqwb_shard_ready',
  'qqwb_outbound_total',
  'qqwb_outbound_send_seconds',
  'qqwb_outbound_queue_depth',
  'qqwb_api_requests_total',
] as const;
