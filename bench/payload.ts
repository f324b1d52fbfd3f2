/**
 * The benchmark event. A realistic group @-message (the event a bot sees most) whose `d` carries two extra fields
 * the envelope keeps (mappers keep every field they do not name): a per-phase sequence number, so the receiver can
 * count losses and duplicates, and the send time, so the receiver can compute end-to-end latency on arrival.
 */

/** The QQ event type every benchmark event uses. */
export const BENCH_EVENT_TYPE = 'GROUP_AT_MESSAGE_CREATE';
/** Field of `d` holding the per-phase sequence number (1, 2, …; 0 means warm-up, not tracked). */
export const SEQ_FIELD = 'qqwb_bench_seq';
/** Field of `d` holding the send time, ms since the epoch with sub-ms precision (see {@link nowMs}). */
export const SENT_FIELD = 'qqwb_bench_sent';

/**
 * Wall-clock ms with sub-millisecond precision, comparable across processes on one machine: every process's
 * `timeOrigin` is taken from the same system clock, and `performance.now()` is monotonic after that.
 */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

const GROUP = 'D4DE5F2EF86365A1FBEAA8C7C3C12B91';
const MEMBER = '7D296480D464EC5C16714E74A43E5BC7';

/** Messages made by this process; numbers each one's `d.id`. */
let messages = 0;

/** China Standard Time, the offset QQ writes its timestamps in. */
const CST_OFFSET_MS = 8 * 3_600_000;

/**
 * `ms` as QQ writes an event's time, e.g. `2025-02-15T16:35:23+08:00`. The time must be the send time: the bridge
 * computes a reply's deadline from it, and an old one would expire every reply before it is sent.
 */
function qqTimestamp(ms: number): string {
  return `${new Date(ms + CST_OFFSET_MS).toISOString().slice(0, 19)}+08:00`;
}

/**
 * The `d` of benchmark event `seq`, sent at `sentMs`; about 600 bytes of JSON, like a short real message. Its
 * `d.id` is new on every call: the bridge dedupes messages on `d.id` (QQ pushes one message under two types), so
 * reusing one would turn a benchmark into a dedupe test.
 */
export function benchEventData(seq: number, sentMs: number): Record<string, unknown> {
  messages += 1;
  return {
    id: `ROBOT1.0_bench.${messages}.DPLMsS1ni5JdXvHqMSAbLhCWDXkR.ypJfF8MMAvV1o.nJ6EAnAE5kMg2FFFnMSNfcCPxLSoIMEz`,
    content: ` benchmark message ${seq}`,
    timestamp: qqTimestamp(sentMs),
    author: { id: MEMBER, member_openid: MEMBER, union_openid: MEMBER },
    group_id: GROUP,
    group_openid: GROUP,
    message_scene: { source: 'default', callback_data: '' },
    [SEQ_FIELD]: seq,
    [SENT_FIELD]: sentMs,
  };
}

const SEQ_NEEDLE = `"${SEQ_FIELD}":`;
const SENT_NEEDLE = `"${SENT_FIELD}":`;

/** The benchmark's marks in one delivered body; either is NaN when absent. */
export interface Marks {
  seq: number;
  sentMs: number;
}

/**
 * Reads the sequence number and send time out of a delivered body without parsing the JSON, which keeps the
 * receiver cheap (it must not be the bottleneck it measures). Either is NaN when absent.
 */
export function readMarks(body: string): Marks {
  const seqAt = body.indexOf(SEQ_NEEDLE);
  const sentAt = body.indexOf(SENT_NEEDLE);
  return {
    seq:
      seqAt < 0 ? NaN : parseInt(body.slice(seqAt + SEQ_NEEDLE.length, seqAt + SEQ_NEEDLE.length + 16), 10),
    sentMs:
      sentAt < 0
        ? NaN
        : parseFloat(body.slice(sentAt + SENT_NEEDLE.length, sentAt + SENT_NEEDLE.length + 24)),
  };
}
