/**
 * What `demo` waits for and reports: every emitted event delivered and verified, except the one the sample
 * receiver refuses for good, which must be the one dead letter in the target's queue (read back from Redis), and
 * the reply to the @-message stored at QQ.
 */
import type { DeadLetterDetail } from '../queue/dlq.js';
import type { DemoDeadLetters } from './dead-letters.js';
import { ANSWERED_EVENT, SAMPLE_DATA } from './events.js';
import { formatDeadLetterLine, shortEventId } from './format.js';
import type { QqMessageWatch } from './qq-messages.js';
import type { SampleReceiver } from './receiver.js';

/** What the demo emitted and where it looks for the results. */
export interface DemoRun {
  readonly receiver: SampleReceiver;
  readonly qq: QqMessageWatch;
  readonly deadLetters: DemoDeadLetters;
  /** Every emitted event id (the webhook-id it is delivered with). */
  readonly ids: readonly string[];
  /** The id of the event the receiver refuses for good. */
  readonly refusedId: string;
  readonly print: (line: string) => void;
}

/** The `d.id` of the @-message the sample receiver answers: what its reply names as `msg_id`. */
const ANSWERED_MSG_ID = SAMPLE_DATA[ANSWERED_EVENT]?.['id'];

/** The replies to the @-message that QQ stored. */
function repliesAtQq(qq: QqMessageWatch): number {
  return qq.seen.filter(
    (m) =>
      m.outcome === 'delivered' && (m.body as Record<string, unknown> | null)?.['msg_id'] === ANSWERED_MSG_ID,
  ).length;
}

/** The ids that must arrive, verify and be accepted: all but the refused one. */
function acceptedIds(run: DemoRun): string[] {
  return run.ids.filter((id) => id !== run.refusedId);
}

/**
 * Waits until `deadlineMs` (or `stopped()`) for every event to arrive, for the refused one to be dead-lettered
 * (printed then, with what the queue recorded) and for the reply to reach QQ.
 */
export async function awaitDemoOutcome(
  run: DemoRun,
  deadlineMs: number,
  stopped: () => boolean,
): Promise<void> {
  let letter: DeadLetterDetail | undefined;
  const done = (): boolean =>
    acceptedIds(run).every((id) => run.receiver.verified.has(id)) &&
    letter !== undefined &&
    repliesAtQq(run.qq) > 0;
  while (!done() && Date.now() < deadlineMs && !stopped()) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    run.qq.poll();
    // The receiver has answered 422; the worker moves the job to the dead letters right after.
    if (letter === undefined && run.receiver.refused.has(run.refusedId)) {
      letter = await run.deadLetters.show(run.refusedId);
      if (letter) run.print(formatDeadLetterLine(letter));
    }
  }
}

/**
 * Prints `14 delivered, 1 dead-lettered, 15 verified, 1 reply at QQ (15 events emitted)` and, when something is
 * off, what. True when every event but the refused one was delivered and verified, the dead-letter queue holds
 * exactly the refused one, nothing failed verification and the reply reached QQ.
 */
export async function summarizeDemo(run: DemoRun, timeoutMs: number): Promise<boolean> {
  const { receiver, print } = run;
  const verified = run.ids.filter((id) => receiver.verified.has(id)).length;
  const accepted = acceptedIds(run).filter((id) => receiver.verified.has(id));
  const letters = await run.deadLetters.list();
  const replies = repliesAtQq(run.qq);
  const unverified = receiver.rejected() === 0 ? '' : `, ${receiver.rejected()} failed verification`;
  print(
    `${accepted.length} delivered, ${letters.length} dead-lettered, ${verified} verified${unverified}, ` +
      `${replies} ${replies === 1 ? 'reply' : 'replies'} at QQ (${run.ids.length} events emitted)`,
  );
  const problems: string[] = [];
  const missing = acceptedIds(run).length - accepted.length;
  if (missing > 0) problems.push(`${missing} events did not arrive and verify`);
  if (receiver.rejected() > 0) problems.push(`${receiver.rejected()} deliveries failed verification`);
  const expected = letters.length === 1 && letters[0]?.eventId === run.refusedId;
  if (!expected) {
    const found = letters.map((row) => shortEventId(row.eventId)).join(', ') || 'none';
    problems.push(`the dead letters are ${found}, not just ${shortEventId(run.refusedId)}`);
  }
  if (replies === 0) problems.push('the reply did not reach QQ');
  if (problems.length > 0) {
    print(
      `within ${Math.round(timeoutMs / 1000)} s: ${problems.join('; ')} ` +
        '(run without --once, or raise --timeout, to look closer)',
    );
  }
  return problems.length === 0;
}
