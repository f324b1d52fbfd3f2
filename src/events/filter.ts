/**
 * Which envelopes a target wants (its `events` and `groups` config, docs/design.md §2). Compiled once per target into
 * two glob matchers and a set, then called for every event.
 */
import type { TargetConfig } from '../config/types.js';
import type { Envelope } from './envelope.js';
import { compileGlobs } from './glob.js';

/** A pattern written like a QQ event name (`GROUP_ADD_ROBOT`, `GROUP_*`) matches `qq_type`; others match `type`. */
const QQ_NAME_PATTERN = /^[A-Z0-9_*]+$/;

/**
 * Builds the predicate for one target. `events` are case-sensitive globs where `*` matches any run of characters,
 * dots included (`group.*` matches `group.bot.added`, `*` matches everything); an entry made only of `A–Z 0–9 _ *`
 * is matched against `qq_type`, any other against `type`. An empty `events` list matches nothing. A non-empty
 * `groups` list keeps only envelopes whose `data.group_openid` is listed, so events without a group (C2C messages,
 * friend and C2C push events, unknown events, C2C interactions) are then excluded.
 */
export function createTargetFilter(
  target: Pick<TargetConfig, 'events' | 'groups'>,
): (envelope: Envelope) => boolean {
  const byQqType = compileGlobs(target.events.filter((glob) => QQ_NAME_PATTERN.test(glob)));
  const byType = compileGlobs(target.events.filter((glob) => !QQ_NAME_PATTERN.test(glob)));
  const groups = new Set(target.groups);
  return (envelope) => {
    const wanted = byQqType(envelope.qq_type) || byType(envelope.type);
    if (!wanted || groups.size === 0) return wanted;
    const group = envelope.data.group_openid;
    return typeof group === 'string' && groups.has(group);
  };
}
