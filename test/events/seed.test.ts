import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../src/events/envelope.js';
import { normalize } from '../../src/events/normalize.js';
import { schemaErrors } from './envelope-schema.js';
import { CTX, SEED_FRAMES, type SeedFrame } from './fixtures.js';

const GROUP = 'C9F778FE6ADF9D1D1DBE395BF744A33A';
const OPERATOR = 'E4F4AEA33253A2797FB897C50B81D7ED';

function expected(frame: SeedFrame, type: string, occurredAt: string): Envelope {
  return {
    id: frame.id,
    type,
    qq_type: frame.t,
    occurred_at: occurredAt,
    received_at: '2026-11-25T12:00:00.123Z',
    app_id: '102000000',
    shard: [0, 1],
    seq: frame.s,
    data: { group_openid: GROUP, operator_openid: OPERATOR, timestamp: frame.d.timestamp },
    v: 1,
  };
}

describe('the four seed events (docs/qq-protocol.md §5.4, official examples)', () => {
  it.each([
    ['GROUP_ADD_ROBOT', SEED_FRAMES.GROUP_ADD_ROBOT, 'group.bot.added', '2023-11-06T03:10:48.000Z'],
    ['GROUP_DEL_ROBOT', SEED_FRAMES.GROUP_DEL_ROBOT, 'group.bot.removed', '2023-11-06T03:13:46.000Z'],
    ['GROUP_MSG_REJECT', SEED_FRAMES.GROUP_MSG_REJECT, 'group.push.rejected', '2023-11-06T03:14:18.000Z'],
    ['GROUP_MSG_RECEIVE', SEED_FRAMES.GROUP_MSG_RECEIVE, 'group.push.accepted', '2023-11-06T03:14:37.000Z'],
  ] as const)('%s becomes exactly the documented envelope', (_t, frame, type, occurredAt) => {
    const { envelope, dedupeKey } = normalize(frame, CTX);
    expect(envelope).toStrictEqual(expected(frame, type, occurredAt));
    expect(dedupeKey).toBe(frame.id);
    expect(schemaErrors(envelope)).toEqual([]);
  });

  it('serializes the ADD_ROBOT data exactly as docs/design.md §3 shows it', () => {
    const { envelope } = normalize(SEED_FRAMES.GROUP_ADD_ROBOT, CTX);
    expect(JSON.stringify(envelope.data)).toBe(
      '{"group_openid":"C9F778FE6ADF9D1D1DBE395BF744A33A","operator_openid":"E4F4AEA33253A2797FB897C50B81D7ED","timestamp":1699240248}',
    );
  });

  it('hashes t + sorted d into the id when the frame has no id (webhook replays, old captures)', () => {
    const { id: _id, ...withoutId } = SEED_FRAMES.GROUP_ADD_ROBOT;
    const sorted = `{"group_openid":"${GROUP}","op_member_openid":"${OPERATOR}","timestamp":1699240248}`;
    const hex = createHash('sha256').update(`GROUP_ADD_ROBOT${sorted}`).digest('hex');
    const { envelope, dedupeKey } = normalize(withoutId, CTX);
    expect(envelope.id).toBe(`GROUP_ADD_ROBOT:${hex.slice(0, 32)}`);
    expect(dedupeKey).toBe(envelope.id);
    expect(schemaErrors(envelope)).toEqual([]);
  });

  it('gives seq null to a webhook frame without s', () => {
    const { s: _s, ...webhookFrame } = SEED_FRAMES.GROUP_DEL_ROBOT;
    const { envelope } = normalize(webhookFrame, { ...CTX, shard: [0, 1] });
    expect(envelope.seq).toBeNull();
    expect(envelope.malformed).toBeUndefined();
    expect(schemaErrors(envelope)).toEqual([]);
  });
});
