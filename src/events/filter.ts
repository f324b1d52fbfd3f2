/**
 * Which envelopes a target wants (its `events` and `groups` config, docs/design.md §2). Compiled once per target
 * into glob matchers and a set, then called for every event.
 */
import type { TargetConfig } from '../config/types.js';
import type { Envelope } from './envelope.js';
import { compileGlobs } from './glob.js';

/** A pattern written like a QQ event name (`GROUP_ADD_ROBOT`, `GROUP_*`) matches `qq_type`; others match `type`. */
const QQ_NAME_PATTERN = /^[A-Z0-9_*]+$/;

/** The `type` prefix of the bridge's own events (`bridge.message.sent`, …), and of their `qq_type`. */
const BRIDGE_TYPE_PREFIX = 'bridge.';
const BRIDGE_QQ_TYPE_PREFIX = 'BRIDGE_';

/**
 * The group an envelope concerns: `data.group_openid`, or for the bridge's own events about a message to a group,
 * its `data.openid`.
 */
function groupOf(envelope: Envelope, bridgeEvent: boolean): unknown {
  const { data } = envelope;
  if (bridgeEvent) return data['scene'] === 'group' ? data['openid'] : undefined;
  return data['group_openid'];
}

/**
 * Builds the predicate for one target. `events` are case-sensitive globs where `*` matches any run of characters,
 * dots included (`group.*` matches `group.bot.added`, `*` matches every QQ event); an entry made only of
 * `A–Z 0–9 _ *` is matched against `qq_type`, any other against `type`. An empty `events` list matches nothing.
 *
 * The bridge's own events (`type` `bridge.…`, `qq_type` `BRIDGE_…`: the results of outbound messages) are
 * delivered only to targets that ask for them: only globs that themselves start with `bridge.` (or, matched
 * against `qq_type`, with `BRIDGE_`) match them, so `*`, `*.sent` or `BRIDGE*` do not, and a target that has
 * always subscribed to `*` does not start receiving them.
 *
 * A non-empty `groups` list keeps only envelopes whose `data.group_openid` is listed (for the bridge's events:
 * whose `data.openid` is, when `data.scene` is `group`), so events without a group (C2C messages, friend and C2C
 * push events, unknown events, C2C interactions, results of C2C messages) are then excluded.
 */
export function createTargetFilter(
  target: Pick<TargetConfig, 'events' | 'groups'>,
): (envelope: Envelope) => boolean {
  const qqNameGlobs = target.events.filter((glob) => QQ_NAME_PATTERN.test(glob));
  const typeGlobs = target.events.filter((glob) => !QQ_NAME_PATTERN.test(glob));
  const byQqType = compileGlobs(qqNameGlobs);
  const byType = compileGlobs(typeGlobs);
  const bridgeByQqType = compileGlobs(qqNameGlobs.filter((glob) => glob.startsWith(BRIDGE_QQ_TYPE_PREFIX)));
  const bridgeByType = compileGlobs(typeGlobs.filter((glob) => glob.startsWith(BRIDGE_TYPE_PREFIX)));
  const groups = new Set(target.groups);
  return (envelope) => {
    const bridgeEvent = envelope.type.startsWith(BRIDGE_TYPE_PREFIX);
    const wanted = bridgeEvent
      ? bridgeByQqType(envelope.qq_type) || bridgeByType(envelope.type)
      : byQqType(envelope.qq_type) || byType(envelope.type);
    if (!wanted || groups.size === 0) return wanted;
    const group = groupOf(envelope, bridgeEvent);
    return typeof group === 'string' && groups.has(group);
  };
}
