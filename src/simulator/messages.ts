import type { SendScene } from './inbound-registry.js';

/**
 * What became of a send: `delivered` (QQ stored it and users see it — the only outcome that counts as a message at
 * QQ), `dropped` (answered 200 with an id while no gateway session was connected, and lost, docs/qq-protocol.md
 * §7.1) or `rejected` (answered with an error, nothing stored).
 */
export type SendOutcome = 'delivered' | 'dropped' | 'rejected';

/** One `POST /v2/groups/{openid}/messages` or `/v2/users/{openid}/messages` the simulator received. */
export interface SentMessage {
  /** the message id answered; null when rejected (no id was issued) */
  id: string | null;
  scene: SendScene;
  /** `group_openid` or the user's openid, from the path */
  openid: string;
  /** the request body as parsed JSON, or its text when it was not JSON */
  body: unknown;
  /** when it arrived, ms since epoch on the simulator's clock */
  at: number;
  outcome: SendOutcome;
  /** the HTTP status answered (500 for a message stored under fault `send_stored_error`) */
  status: number;
  /** the `code` of the error body answered, when one was */
  code?: number;
  /** set once the message was recalled */
  recalled?: true;
}

/** One `PUT /interactions/{id}` the simulator received. */
export interface InteractionAck {
  interactionId: string;
  body: unknown;
  at: number;
  outcome: 'acked' | 'rejected';
  status: number;
  code?: number;
}

/** One `DELETE …/messages/{message_id}` the simulator received. */
export interface RecallAttempt {
  messageId: string;
  scene: SendScene;
  openid: string;
  at: number;
  outcome: 'recalled' | 'rejected';
  status: number;
  code?: number;
}

/** Everything the send routes received, oldest first: `GET /_sim/messages` and `messages()`. */
export interface SentMessagesView {
  messages: SentMessage[];
  interactions: InteractionAck[];
  recalls: RecallAttempt[];
}

/**
 * The log of the send routes, for tests and `GET /_sim/messages`. It is only a record: QQ's own memory (used
 * `msg_seq`s, reply counts, what can be recalled) lives in SendRules and survives `reset()`.
 */
export class MessageLog {
  #messages: SentMessage[] = [];
  #interactions: InteractionAck[] = [];
  #recalls: RecallAttempt[] = [];

  addMessage(message: SentMessage): void {
    this.#messages.push(message);
  }

  addInteraction(ack: InteractionAck): void {
    this.#interactions.push(ack);
  }

  addRecall(recall: RecallAttempt): void {
    this.#recalls.push(recall);
  }

  /** Marks the logged message `id` recalled (if it is still in the log). */
  markRecalled(id: string): void {
    const message = this.#messages.find((entry) => entry.id === id);
    if (message) message.recalled = true;
  }

  /** A copy that does not alias the log, so a caller may keep or modify it. */
  view(): SentMessagesView {
    return structuredClone({
      messages: this.#messages,
      interactions: this.#interactions,
      recalls: this.#recalls,
    });
  }

  /** Empties the log; returns how many entries it held. */
  reset(): number {
    const cleared = this.#messages.length + this.#interactions.length + this.#recalls.length;
    this.#messages = [];
    this.#interactions = [];
    this.#recalls = [];
    return cleared;
  }
}
