import { describe, expect, it } from 'vitest';
import {
  ANSWERED_EVENT,
  demoEvents,
  SAMPLE_DATA,
  SEED_EVENTS,
  UNKNOWN_EVENT,
} from '../../src/demo/events.js';
import { EVENT_CATALOG, UNKNOWN_EVENT_TYPE } from '../../src/events/catalog.js';
import { normalize } from '../../src/events/normalize.js';

const CATALOG = Object.keys(EVENT_CATALOG);

describe('the demo events', () => {
  it('start with the seed four exactly as docs/qq-protocol.md §5.4 gives them', () => {
    const base = {
      group_openid: 'C9F778FE6ADF9D1D1DBE395BF744A33A',
      op_member_openid: 'E4F4AEA33253A2797FB897C50B81D7ED',
    };
    expect(demoEvents(CATALOG).slice(0, 4)).toEqual([
      { t: 'GROUP_ADD_ROBOT', d: { ...base, timestamp: 1699240248 } },
      { t: 'GROUP_DEL_ROBOT', d: { ...base, timestamp: 1699240426 } },
      { t: 'GROUP_MSG_REJECT', d: { ...base, timestamp: 1699240458 } },
      { t: 'GROUP_MSG_RECEIVE', d: { ...base, timestamp: 1699240477 } },
    ]);
  });

  it('cover every catalog event once, then end with one the catalog does not know', () => {
    const events = demoEvents(CATALOG);
    expect(events.map((e) => e.t)).toEqual([
      ...CATALOG.filter((t) => events.some((e) => e.t === t)),
      UNKNOWN_EVENT.t,
    ]);
    expect(new Set(events.slice(0, -1).map((e) => e.t))).toEqual(new Set(CATALOG));
    for (const t of CATALOG) {
      expect(SEED_EVENTS.some((e) => e.t === t) || SAMPLE_DATA[t] !== undefined, `sample data for ${t}`).toBe(
        true,
      );
    }
    expect(Object.hasOwn(EVENT_CATALOG, UNKNOWN_EVENT.t)).toBe(false);
  });

  it("stamp the @-message the receiver answers with the given time, so its reply is inside QQ's window", () => {
    const now = new Date('2026-11-25T12:00:00.000Z');
    const at = demoEvents(CATALOG, now).find((e) => e.t === ANSWERED_EVENT);
    expect(at?.d).toEqual({ ...SAMPLE_DATA[ANSWERED_EVENT], timestamp: '2026-11-25T12:00:00.000Z' });
    const others = demoEvents(CATALOG, now).filter((e) => e.t !== ANSWERED_EVENT && SAMPLE_DATA[e.t]);
    for (const { t, d } of others) expect(d, t).toBe(SAMPLE_DATA[t]);
  });

  it('are well-formed: each normalizes to its catalog type without a malformed note', () => {
    for (const { t, d } of demoEvents(CATALOG)) {
      const { envelope } = normalize(
        { op: 0, s: 1, t, id: `${t}:demo`, d },
        { appId: '102000000', shard: [0, 1], receivedAt: new Date() },
      );
      expect(envelope.type, t).toBe(EVENT_CATALOG[t]?.type ?? UNKNOWN_EVENT_TYPE);
      expect(envelope.malformed, t).toBeUndefined();
    }
  });
});
