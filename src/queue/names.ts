/**
 * Queue and job naming. The keys a queue lives under, and every other key, are named in src/redis/keys.ts.
 */
export function deliveryQueueName(targetId: string): string {
  return `deliver-${targetId}`;
}

/** What stands in a job id for each character an event id cannot keep there. */
const JOB_ID_ESCAPES: Readonly<Record<string, string>> = { '%': '%25', '|': '%7C', ':': '|' };
const EVENT_ID_CHARACTERS: Readonly<Record<string, string>> = { '%25': '%', '%7C': '|', '|': ':' };

/**
 * The delivery job's id for an event. BullMQ job ids may not contain `:` and must not look like integers; event
 * ids are `TYPE:uuid`, so `:` becomes `|` (readable in dashboards) after `|` and `%` themselves are escaped as
 * `%7C` and `%25`. That keeps the mapping one-to-one — `A|b` and `A:b` are two jobs — and reversible by
 * {@link eventIdFromJobId}, and gives an id without `%` or `|` the job id it always had, so jobs enqueued before
 * the escaping are still found by their event id. Event ids are bounded where they are made (events/event-id.ts).
 */
export function jobIdForEvent(eventId: string): string {
  return `ev|${eventId.replace(/[%|:]/g, (character) => JOB_ID_ESCAPES[character] ?? character)}`;
}

/**
 * The event id {@link jobIdForEvent} made `jobId` from. Any other `%` is kept as it is, as in a job id made before
 * the escaping.
 */
export function eventIdFromJobId(jobId: string): string {
  return jobId.replace(/^ev\|/, '').replace(/%25|%7C|\|/g, (escape) => EVENT_ID_CHARACTERS[escape] ?? escape);
}
