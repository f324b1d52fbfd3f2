/**
 * The simulator as QQ with a callback URL saved for the bot (`simulate --webhook-url`, docs/webhook-mode.md): every
 * emitted event goes out as a signed op-0 callback (webhook-push.ts) and never over the WebSocket. The URL is
 * validated with op 13 first, as the console does when the URL is saved; a bridge started after the simulator is
 * validated on the next emit instead, so the order in which the two are started does not matter.
 */
import { randomUUID } from 'node:crypto';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { EmitCommand } from './commands.js';
import {
  WebhookPush,
  type CallbackOutcome,
  type WebhookPushDeps,
  type WebhookPushOptions,
} from './webhook-push.js';

/** The simulator option `webhook`: where callbacks go, and how they are pushed. */
export interface CallbackModeOptions extends WebhookPushOptions {
  /** The bridge's callback route, e.g. `http://127.0.0.1:9464/qq/callback`. */
  url: string;
}

/** How an emit in callback mode ended. */
export type CallbackEmitResult =
  | { sent: true; id: string; callback: CallbackOutcome & { url: string } }
  /** The URL did not pass op 13, so QQ would push nothing: the event was not sent. */
  | { sent: false; error: string };

/** What `POST /_sim/emit` answers in callback mode. */
export interface CallbackEmitAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** Validates a callback URL once, then delivers each event to it and reports how the delivery ended. */
export class CallbackMode {
  readonly url: string;
  readonly #push: WebhookPush;
  readonly #logger: Logger;
  #validated = false;
  #validating: Promise<string | undefined> | undefined;

  constructor(deps: Omit<WebhookPushDeps, 'options' | 'url'> & { options: CallbackModeOptions }) {
    this.url = deps.options.url;
    this.#push = new WebhookPush({ ...deps, url: deps.options.url });
    this.#logger = deps.logger;
  }

  /** True once op 13 succeeded: from then on QQ reaches the bot through its callbacks. */
  get validated(): boolean {
    return this.#validated;
  }

  /**
   * Runs the op-13 validation unless it already succeeded; concurrent callers share one attempt. Resolves with
   * undefined when the URL is validated, else with what was wrong (also logged). Never rejects.
   */
  validate(): Promise<string | undefined> {
    if (this.#validated) return Promise.resolve(undefined);
    this.#validating ??= this.#push.validate().then(
      () => {
        this.#validated = true;
        return undefined;
      },
      (err: unknown) => {
        this.#validating = undefined;
        const error = describeError(err);
        this.#logger.warn(
          { url: this.url, error },
          'callback URL validation (op 13) failed; it is tried again on the next emit',
        );
        return error;
      },
    );
    return this.#validating;
  }

  /**
   * Delivers one event as a callback, retried as webhook-push.ts does, and resolves with how it ended. The event
   * is passed to `noteSent` (the send routes' memory of events a reply may name) once it is sent. `shard` is
   * ignored: a callback belongs to no shard.
   */
  async emit(
    command: EmitCommand,
    noteSent: (t: string, id: string, d: unknown) => void,
  ): Promise<CallbackEmitResult> {
    const refused = await this.validate();
    if (refused !== undefined) return { sent: false, error: `the event was not sent: ${refused}` };
    const id = command.id ?? `${command.t}:${randomUUID()}`;
    noteSent(command.t, id, command.d);
    const outcome = await this.#push.deliver({ t: command.t, id, d: command.d });
    const fields = { url: this.url, eventId: id, t: command.t, attempts: outcome.attempts };
    if (outcome.acked) this.#logger.info(fields, 'callback acknowledged (op 12)');
    return { sent: true, id, callback: { url: this.url, ...outcome } };
  }

  /** Drops pending retries and aborts requests in flight. */
  stop(): Promise<void> {
    return this.#push.stop();
  }
}

/**
 * The HTTP answer for a curl user: 200 when the bridge acknowledged the callback, else 502 Bad Gateway with an
 * `error` saying what happened and, once sent, the callback's last `status` (null when none came) and attempts.
 */
export function callbackEmitAnswer(result: CallbackEmitResult): CallbackEmitAnswer {
  if (!result.sent) return { status: 502, body: { error: result.error } };
  const { url, acked, attempts, status, why } = result.callback;
  const callback = { url, acked, attempts, status };
  if (acked) return { status: 200, body: { id: result.id, callback } };
  const error = `callback to ${url} not acknowledged with op 12 after ${attempts} attempt(s): ${why ?? 'stopped'}`;
  return { status: 502, body: { error, id: result.id, callback } };
}
