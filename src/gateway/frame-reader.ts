import type { RawData } from 'ws';
import type { GatewayFrame } from '../qq/opcodes.js';

/** Why a frame could not be used: not JSON, JSON but not an object, or over the size cap (ws `maxPayload`). */
export type FrameRejectReason = 'not_json' | 'not_object' | 'too_large';

/** One WebSocket message read as a gateway frame, or why it cannot be one (with a short sample for the log). */
export type ReadFrame =
  | { ok: true; frame: Partial<GatewayFrame> }
  | { ok: false; reason: Exclude<FrameRejectReason, 'too_large'>; sample: string };

/** The longest piece of a rejected frame that goes into a log line or a hook. */
const SAMPLE_CHARS = 200;

/**
 * Bytes → frame (docs/qq-protocol.md §3.1: every frame is one JSON object in a text message). A binary message or
 * text that is not JSON is `not_json`; JSON that is not an object (an array, a number) is `not_object`. The fields
 * are not checked here: the protocol state machine reads them defensively.
 */
export function readFrame(data: RawData, isBinary: boolean): ReadFrame {
  const text = isBinary ? null : rawToString(data);
  let frame: unknown;
  try {
    frame = text === null ? undefined : JSON.parse(text);
  } catch {
    frame = undefined;
  }
  if (typeof frame === 'object' && frame !== null && !Array.isArray(frame)) {
    return { ok: true, frame: frame };
  }
  const reason = text === null || frame === undefined ? 'not_json' : 'not_object';
  return { ok: false, reason, sample: (text ?? '<binary>').slice(0, SAMPLE_CHARS) };
}

/** Whether a socket error is ws refusing a frame over `maxPayload` (it then closes the socket with 1009). */
export function isOversizeFrameError(err: Error): boolean {
  return /max payload/i.test(err.message);
}

function rawToString(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}
