import { describe, expect, it } from 'vitest';
import { isOversizeFrameError, readFrame } from '../../src/gateway/frame-reader.js';

describe('readFrame', () => {
  it.each([
    ['an object', Buffer.from('{"op":11}'), false, { ok: true, frame: { op: 11 } }],
    ['text that is not JSON', Buffer.from('nope'), false, { ok: false, reason: 'not_json', sample: 'nope' }],
    ['a JSON array', Buffer.from('[1,2]'), false, { ok: false, reason: 'not_object', sample: '[1,2]' }],
    ['a JSON number', Buffer.from('42'), false, { ok: false, reason: 'not_object', sample: '42' }],
    ['JSON null', Buffer.from('null'), false, { ok: false, reason: 'not_object', sample: 'null' }],
    [
      'a binary message',
      Buffer.from('{"op":11}'),
      true,
      { ok: false, reason: 'not_json', sample: '<binary>' },
    ],
    ['fragments', [Buffer.from('{"op":'), Buffer.from('7}')], false, { ok: true, frame: { op: 7 } }],
  ] as const)('%s', (_what, data, isBinary, expected) => {
    expect(readFrame(data as Buffer | Buffer[], isBinary)).toEqual(expected);
  });

  it('cuts the sample of a rejected frame to 200 characters', () => {
    const read = readFrame(Buffer.from('x'.repeat(5_000)), false);
    expect(read).toMatchObject({ ok: false, reason: 'not_json' });
    expect(!read.ok && read.sample.length).toBe(200);
  });

  it("recognises ws's max payload error", () => {
    expect(isOversizeFrameError(new RangeError('Max payload size exceeded'))).toBe(true);
    expect(isOversizeFrameError(new Error('read ECONNRESET'))).toBe(false);
  });
});
