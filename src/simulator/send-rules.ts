import {
  acceptsEventIdReply,
  type InboundEvent,
  type InboundRegistry,
  type SendScene,
} from './inbound-registry.js';
import type { CheckedMessageBody, PassiveKey } from './message-body.js';
import { SEND_CODE, SEND_MESSAGE } from './send-codes.js';
import type { ResolvedSendOptions } from './send-options.js';

/** QQ's answer when it refuses: a business code and its message. */
export interface Refusal {
  code: number;
  message: string;
}

/** QQ's limit of passive messages per inbound message or event (docs/qq-protocol.md §7.2). */
export const MAX_PASSIVE_PER_INBOUND = 5;

interface DeliveredMessage {
  scene: SendScene;
  openid: string;
  at: number;
  recalled: boolean;
}

/**
 * QQ's rules for sends and what QQ remembers to apply them (docs/qq-protocol.md §7.2, §8): which inbound id a
 * passive message may name, its reply window, the `msg_seq` dedupe, the five-reply limit, active-message
 * permission, recall within its window, and interaction acknowledgements. Only delivered messages change this
 * memory: a rejected or dropped send never reached QQ's store.
 *
 * A passive send is checked in this order, each failure with its own code: the id is known and belongs to this
 * scene and openid → the event accepts replies → the window is open → the (id, `msg_seq`) pair is new → fewer
 * than five replies so far. The dedupe check comes before the limit so that a retry of the fifth reply is told
 * `40054005` (it was delivered) rather than `40034128`.
 */
export class SendRules {
  /** `msg_id:<id>` / `event_id:<id>` → the `msg_seq`s delivered for it */
  readonly #seqsByInbound = new Map<string, Set<number>>();
  readonly #deliveredById = new Map<string, DeliveredMessage>();

  constructor(
    private readonly registry: InboundRegistry,
    private readonly options: ResolvedSendOptions,
    private readonly now: () => number,
  ) {}

  /** Why QQ would refuse this message now, or undefined when it would take it. Changes nothing. */
  check(scene: SendScene, openid: string, message: CheckedMessageBody): Refusal | undefined {
    const { passive, msgSeq } = message;
    if (passive === undefined) {
      return this.options.activeMessages === 'deny'
        ? { code: SEND_CODE.ACTIVE_NOT_ALLOWED, message: SEND_MESSAGE.ACTIVE_NOT_ALLOWED }
        : undefined;
    }
    const inbound = this.#inbound(scene, openid, passive);
    if ('code' in inbound) return inbound;
    const windowMs = scene === 'group' ? this.options.groupReplyWindowMs : this.options.c2cReplyWindowMs;
    if (this.now() - inbound.at > windowMs) {
      return {
        code: SEND_CODE.REPLY_EXPIRED,
        message: `passive reply window of ${windowMs} ms after ${passive.kind} ${passive.id} has passed`,
      };
    }
    const seqs = this.#seqsByInbound.get(inboundKey(passive));
    if (seqs?.has(msgSeq))
      return { code: SEND_CODE.DUPLICATE_MSG_SEQ, message: SEND_MESSAGE.DUPLICATE_MSG_SEQ };
    if (seqs && seqs.size >= MAX_PASSIVE_PER_INBOUND) {
      return {
        code: SEND_CODE.REPLY_LIMIT,
        message: `${passive.kind} ${passive.id} already has ${MAX_PASSIVE_PER_INBOUND} passive messages`,
      };
    }
    return undefined;
  }

  /** Remembers a delivered message: its `msg_seq` is used, it counts toward the limit, it can be recalled. */
  remember(id: string, scene: SendScene, openid: string, message: CheckedMessageBody, at: number): void {
    this.#deliveredById.set(id, { scene, openid, at, recalled: false });
    if (message.passive === undefined) return;
    const key = inboundKey(message.passive);
    const seqs = this.#seqsByInbound.get(key) ?? new Set<number>();
    seqs.add(message.msgSeq);
    this.#seqsByInbound.set(key, seqs);
  }

  /** Recalls delivered message `messageId` of this scene and openid within its window; a refusal otherwise. */
  recall(scene: SendScene, openid: string, messageId: string): Refusal | undefined {
    const sent = this.#deliveredById.get(messageId);
    if (!sent || sent.scene !== scene || sent.openid !== openid || sent.recalled) {
      return {
        code: SEND_CODE.MESSAGE_NOT_FOUND,
        message: `no message ${messageId} to recall in ${scene} ${openid}`,
      };
    }
    if (this.now() - sent.at > this.options.recallWindowMs) {
      return {
        code: SEND_CODE.RECALL_EXPIRED,
        message: `message ${messageId} is older than the recall window of ${this.options.recallWindowMs} ms`,
      };
    }
    sent.recalled = true;
    return undefined;
  }

  /** Why an acknowledgement of `interactionId` is refused: it must be the `d.id` of an emitted INTERACTION_CREATE. */
  ack(interactionId: string): Refusal | undefined {
    if (this.registry.interaction(interactionId)) return undefined;
    return {
      code: SEND_CODE.INTERACTION_NOT_FOUND,
      message: `no INTERACTION_CREATE with d.id ${interactionId} was emitted`,
    };
  }

  /** The inbound event a passive message names, or why it may not name it. */
  #inbound(scene: SendScene, openid: string, passive: NonNullable<PassiveKey>): InboundEvent | Refusal {
    if (passive.kind === 'msg_id') {
      const inbound = this.registry.message(passive.id);
      return inbound && belongsTo(inbound, scene, openid)
        ? inbound
        : { code: SEND_CODE.MSG_ID_INVALID, message: SEND_MESSAGE.MSG_ID_INVALID };
    }
    const inbound = this.registry.event(passive.id);
    if (!inbound) {
      return {
        code: SEND_CODE.EVENT_ID_INVALID,
        message: `no event with frame id ${passive.id} was emitted`,
      };
    }
    if (!acceptsEventIdReply(scene, inbound.t)) {
      return { code: SEND_CODE.EVENT_NOT_REPLIABLE, message: SEND_MESSAGE.EVENT_NOT_REPLIABLE };
    }
    if (!belongsTo(inbound, scene, openid)) {
      return {
        code: SEND_CODE.EVENT_ID_INVALID,
        message: `event ${passive.id} belongs to another ${inbound.scene === 'c2c' ? 'user' : 'group'}`,
      };
    }
    return inbound;
  }
}

/** Whether an inbound event may be answered in `scene` at `openid`; an event whose `d` names neither matches any. */
function belongsTo(inbound: InboundEvent, scene: SendScene, openid: string): boolean {
  if (inbound.scene !== undefined && inbound.scene !== scene) return false;
  return inbound.openid === undefined || inbound.openid === openid;
}

function inboundKey(passive: NonNullable<PassiveKey>): string {
  return `${passive.kind}:${passive.id}`;
}
