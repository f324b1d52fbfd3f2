import type { ServerResponse } from 'node:http';
import { messagePath, type Scene } from '../../outbound/message.js';
import type { ApiContext } from './context.js';
import { relayQq } from './relay.js';

/**
 * `DELETE /v1/groups/{group_openid}/messages/{message_id}` and `DELETE /v1/users/{openid}/messages/{message_id}`:
 * recalls a sent message through QQ at once (QQ allows it within 2 minutes of sending, docs/qq-protocol.md §7.2,
 * §8.4) and relays QQ's answer. `message_id` is QQ's id, the `qq.id` of a sent message's status.
 */
export function recallMessage(
  ctx: ApiContext,
  res: ServerResponse,
  target: { readonly scene: Scene; readonly openid: string; readonly messageId: string },
): Promise<void> {
  const path = `${messagePath(target.scene, target.openid)}/${encodeURIComponent(target.messageId)}`;
  return relayQq(ctx, res, { method: 'DELETE', path });
}
