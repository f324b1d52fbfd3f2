/**
 * The faults the send routes can inject, each for the next `times` message sends (`POST …/messages`):
 * `send_error` answers `status` and stores nothing; `send_stored_error` delivers the message but answers 500, the
 * ambiguous failure a client cannot tell from a lost request; `send_rate_limited` answers 429 with
 * `Retry-After: retry_after` and stores nothing.
 */
export const SEND_FAULT_KINDS = ['send_error', 'send_stored_error', 'send_rate_limited'] as const;
export type SendFaultKind = (typeof SEND_FAULT_KINDS)[number];

/** A validated send fault, from `fault()` or `POST /_sim/fault`. */
export type SendFaultCommand =
  | { kind: 'send_error'; status: number; times: number }
  | { kind: 'send_stored_error'; times: number }
  | { kind: 'send_rate_limited'; retryAfterSec: number; times: number };

/** One send's share of an armed fault: what `take()` hands the route. */
export type SendFault =
  | { kind: 'send_error'; status: number }
  | { kind: 'send_stored_error' }
  | { kind: 'send_rate_limited'; retryAfterSec: number };

const MAX_TIMES = 10_000;
const MAX_RETRY_AFTER_SEC = 3600;

export function isSendFaultKind(value: unknown): value is SendFaultKind {
  return typeof value === 'string' && (SEND_FAULT_KINDS as readonly string[]).includes(value);
}

/**
 * Checks a send fault request: `times` (default 1) an integer 1–10000; `status` (send_error only, default 500) an
 * HTTP failure status 400–599; `retry_after` (send_rate_limited only, default 1) whole seconds 0–3600. A field that
 * belongs to another kind is refused rather than ignored, so a mistyped request does not inject the wrong fault.
 */
export function parseSendFaultCommand(
  input: Record<string, unknown>,
): { ok: true; value: SendFaultCommand } | { ok: false; error: string } {
  const { kind, times = 1, status, retry_after: retryAfter } = input;
  if (!isSendFaultKind(kind)) return fail(`"kind" must be one of ${SEND_FAULT_KINDS.join(', ')}`);
  if (!isIntegerIn(times, 1, MAX_TIMES)) return fail(`"times" must be an integer from 1 to ${MAX_TIMES}`);
  if (status !== undefined && kind !== 'send_error') return fail('"status" is only used by send_error');
  if (retryAfter !== undefined && kind !== 'send_rate_limited') {
    return fail('"retry_after" is only used by send_rate_limited');
  }
  switch (kind) {
    case 'send_error': {
      const answered = status ?? 500;
      if (!isIntegerIn(answered, 400, 599)) return fail('"status" must be an HTTP failure status, 400–599');
      return { ok: true, value: { kind, status: answered, times } };
    }
    case 'send_stored_error':
      return { ok: true, value: { kind, times } };
    case 'send_rate_limited': {
      const seconds = retryAfter ?? 1;
      if (!isIntegerIn(seconds, 0, MAX_RETRY_AFTER_SEC)) {
        return fail(`"retry_after" must be whole seconds from 0 to ${MAX_RETRY_AFTER_SEC}`);
      }
      return { ok: true, value: { kind, retryAfterSec: seconds, times } };
    }
  }
}

/** Whether a parsed fault command is a send fault (the others go to the gateway). */
export function isSendFaultCommand(command: { kind: string }): command is SendFaultCommand {
  return isSendFaultKind(command.kind);
}

/**
 * The armed send faults, first armed first used: `fail 2 sends, then store-but-500 1` is two `arm` calls. Each
 * message send takes one unit from the oldest fault that has any left.
 */
export class SendFaults {
  readonly #armed: { fault: SendFault; left: number }[] = [];

  /** Arms a fault for its next `times` sends; returns `times`. */
  arm(command: SendFaultCommand): number {
    this.#armed.push({ fault: faultOf(command), left: command.times });
    return command.times;
  }

  /** The fault for this send, if any is armed; uses it up. */
  take(): SendFault | undefined {
    const head = this.#armed[0];
    if (!head) return undefined;
    head.left -= 1;
    if (head.left === 0) this.#armed.shift();
    return head.fault;
  }
}

function faultOf(command: SendFaultCommand): SendFault {
  switch (command.kind) {
    case 'send_error':
      return { kind: command.kind, status: command.status };
    case 'send_stored_error':
      return { kind: command.kind };
    case 'send_rate_limited':
      return { kind: command.kind, retryAfterSec: command.retryAfterSec };
  }
}

function isIntegerIn(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max;
}

function fail(error: string): { ok: false; error: string } {
  return { ok: false, error };
}
