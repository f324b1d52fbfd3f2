import { describe, expect, it } from 'vitest';
import { EVENT_CATALOG, EVENT_TYPES, UNKNOWN_EVENT_TYPE, catalogEntryFor } from '../../src/events/catalog.js';
import type { DispatchFrame } from '../../src/events/envelope.js';
import { normalize } from '../../src/events/normalize.js';
import { ENVELOPE_SCHEMA, schemaErrors } from './envelope-schema.js';
import {
  C2C_MESSAGE,
  CTX,
  GROUP_AT_MESSAGE,
  GROUP_MESSAGE,
  INTERACTION,
  MEMBER_FRAMES,
  RECEIVED_AT,
  UNKNOWN_FRAMES,
  USER_NOTICE_CAPTURES,
  WELL_FORMED_FRAMES,
} from './fixtures.js';

const dOf = (frame: DispatchFrame): Record<string, unknown> => frame.d as Record<string, unknown>;

describe('EVENT_CATALOG', () => {
  it('has a realistic frame for every QQ event it knows', () => {
    expect(new Set(WELL_FORMED_FRAMES.map((f) => f.t))).toEqual(new Set(Object.keys(EVENT_CATALOG)));
  });

  it('gives every QQ event its own type, and the schema documents exactly those types', () => {
    const types = Object.values(EVENT_CATALOG).map((e) => e.type);
    expect(new Set(types).size).toBe(types.length);
    expect(ENVELOPE_SCHEMA.properties.type.enum).toEqual([...EVENT_TYPES]);
    for (const type of EVENT_TYPES) expect(ENVELOPE_SCHEMA.$defs).toHaveProperty([type]);
  });

  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty'])(
    'does not resolve the inherited name %s',
    (t) => {
      expect(catalogEntryFor(t)).toBeUndefined();
    },
  );
});

describe('normalize: every catalog type', () => {
  it.each(WELL_FORMED_FRAMES.map((f) => [f.t, f.s, f] as const))(
    '%s (s=%d) keeps id and seq, reads occurred_at, is well-formed and matches the schema',
    (t, s, frame) => {
      const { envelope } = normalize(frame, CTX);
      expect(envelope.type).toBe(EVENT_CATALOG[t]?.type);
      expect(envelope.qq_type).toBe(t);
      expect(envelope.id).toBe(frame.id);
      expect(envelope.seq).toBe(s);
      expect(envelope.malformed).toBeUndefined();
      expect(envelope.occurred_at).not.toBe(RECEIVED_AT);
      expect(schemaErrors(envelope)).toEqual([]);
    },
  );

  it('puts an @-mention message under message, lifting the group and the author', () => {
    const d = dOf(GROUP_AT_MESSAGE);
    expect(normalize(GROUP_AT_MESSAGE, CTX).envelope).toMatchObject({
      type: 'group.message.at',
      occurred_at: '2025-02-15T08:35:23.000Z',
      data: {
        group_openid: 'D4DE5F2EF86365A1FBEAA8C7C3C12B91',
        group_id: 'D4DE5F2EF86365A1FBEAA8C7C3C12B91',
        message: {
          id: d.id,
          content: ' 123',
          attachments: [],
          timestamp: '2025-02-15T16:35:23+08:00',
          message_scene: { source: 'default', callback_data: '' },
        },
        author: d.author,
      },
    });
    const { data } = normalize(GROUP_AT_MESSAGE, CTX).envelope;
    expect(Object.keys(data)).toEqual(['group_openid', 'group_id', 'message', 'author']);
    expect(Object.keys(data.message as object)).toEqual([
      'id',
      'content',
      'attachments',
      'timestamp',
      'message_scene',
    ]);
  });

  it('keeps every 2026 field of a full-mode group message', () => {
    const d = dOf(GROUP_MESSAGE);
    const { data } = normalize(GROUP_MESSAGE, CTX).envelope;
    expect(data).toEqual({
      group_openid: d.group_openid,
      group_id: d.group_id,
      message: {
        id: d.id,
        content: d.content,
        attachments: [],
        timestamp: d.timestamp,
        mentions: d.mentions,
        message_scene: d.message_scene,
        message_type: 0,
      },
      author: d.author,
    });
  });

  it('lifts the C2C sender to user_openid and keeps attachments', () => {
    const d = dOf(C2C_MESSAGE);
    expect(normalize(C2C_MESSAGE, CTX).envelope.data).toEqual({
      user_openid: '7D296480D464EC5C16714E74A43E5BC7',
      message: {
        id: d.id,
        content: '',
        attachments: d.attachments,
        timestamp: '2025-02-15T16:32:42+08:00',
        message_scene: d.message_scene,
      },
      author: d.author,
    });
  });

  it.each(USER_NOTICE_CAPTURES.map((f) => [f.t, f] as const))(
    '%s renames openid to user_openid',
    (_t, frame) => {
      const { openid, ...rest } = dOf(frame);
      expect(normalize(frame, CTX).envelope.data).toEqual({ ...rest, user_openid: openid });
      expect(Object.keys(normalize(frame, CTX).envelope.data)).toEqual(
        Object.keys(dOf(frame)).map((k) => (k === 'openid' ? 'user_openid' : k)),
      );
    },
  );

  it.each([...MEMBER_FRAMES, INTERACTION].map((f) => [f.t, f] as const))(
    '%s passes d through as data',
    (_t, frame) => {
      const { data } = normalize(frame, CTX).envelope;
      expect(data).toEqual(frame.d);
      expect(data).not.toBe(frame.d);
    },
  );

  it('reads RFC 3339 interaction timestamps', () => {
    expect(normalize(INTERACTION, CTX).envelope.occurred_at).toBe('2024-08-11T06:02:51.000Z');
  });
});

describe('normalize: events the catalog does not know', () => {
  it.each(UNKNOWN_FRAMES.map((f) => [f.t, f] as const))('delivers %s as qq.unknown', (t, frame) => {
    const { envelope } = normalize(frame, CTX);
    expect(envelope.type).toBe(UNKNOWN_EVENT_TYPE);
    expect(envelope.qq_type).toBe(t);
    expect(envelope.occurred_at).toBe(RECEIVED_AT);
    expect(schemaErrors(envelope)).toEqual([]);
  });

  it('keeps an object d untouched and unflagged', () => {
    const ready = UNKNOWN_FRAMES[0]!;
    const { envelope } = normalize(ready, CTX);
    expect(envelope.data).toEqual(ready.d);
    expect(envelope.malformed).toBeUndefined();
  });

  it('wraps a d that is not an object (RESUMED sends "") and says so', () => {
    const resumed = UNKNOWN_FRAMES[1]!;
    expect(normalize(resumed, CTX).envelope).toMatchObject({
      data: { value: '' },
      malformed: ['d: expected an object, found string'],
      seq: 2002,
    });
  });

  it('treats a guild event as unknown, even when its shape resembles a known one', () => {
    const frame: DispatchFrame = {
      op: 0,
      s: 30,
      t: 'AT_MESSAGE_CREATE',
      id: 'AT_MESSAGE_CREATE:abc',
      d: {
        id: 'm1',
        content: 'hi',
        channel_id: '1',
        guild_id: '2',
        author: { id: '3' },
        timestamp: '2025-01-01T00:00:00+08:00',
      },
    };
    const { envelope } = normalize(frame, CTX);
    expect(envelope).toMatchObject({ type: 'qq.unknown', qq_type: 'AT_MESSAGE_CREATE', data: frame.d });
    expect(envelope.occurred_at).toBe('2024-12-31T16:00:00.000Z');
    expect(schemaErrors(envelope)).toEqual([]);
  });

  it('does not let a QQ name equal to an Object.prototype member pick a catalog entry', () => {
    const { envelope } = normalize({ op: 0, t: 'constructor', d: {} }, CTX);
    expect(envelope.type).toBe('qq.unknown');
    expect(schemaErrors(envelope)).toEqual([]);
  });
});
