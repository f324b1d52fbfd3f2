/**
 * Where the demo's bridge logs go: the demo's output, minus the one line the demo causes on purpose. The refused
 * event's dead-lettering is logged at `error` (as it should be in production); the demo prints its own `✗` line for
 * it, read back from the queue, so the JSON line would only be noise in the middle of the event list.
 */
import { Writable } from 'node:stream';
import { UNKNOWN_EVENT } from './events.js';
import { REFUSAL_STATUS } from './refusal.js';
import { DEMO_TARGET_ID } from './config.js';

/** True for the log record of the demo's deliberate dead letter. */
export function isExpectedDeadLetterLog(record: Readonly<Record<string, unknown>>): boolean {
  return (
    record['targetId'] === DEMO_TARGET_ID &&
    record['status'] === REFUSAL_STATUS &&
    typeof record['eventId'] === 'string' &&
    record['eventId'].startsWith(`${UNKNOWN_EVENT.t}:`)
  );
}

/** A pino destination that passes every line to `out` except {@link isExpectedDeadLetterLog}'s. */
export function demoLogDestination(out: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      const line = chunk.toString();
      let record: unknown;
      try {
        record = JSON.parse(line);
      } catch {
        record = undefined;
      }
      const drop =
        typeof record === 'object' &&
        record !== null &&
        isExpectedDeadLetterLog(record as Record<string, unknown>);
      if (drop) callback();
      else out.write(line, () => callback());
    },
  });
}
