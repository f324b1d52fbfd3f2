import { describe, expect, it } from 'vitest';
import { parseAnswer } from '../../src/outbound/reply-parser.js';

const parse = (text: string, truncated = false) => parseAnswer({ text, truncated });

describe('parseAnswer', () => {
  it.each(['', '   ', 'ok', '"ok"', '[1,2]', '{}', '{"status":"fine"}', 'null'])(
    'reads %j as a plain acknowledgement',
    (text) => {
      expect(parse(text)).toEqual({ messages: [], problems: [] });
    },
  );

  it('reads one reply, with msg_type 0 by default', () => {
    expect(parse('{"reply": {"content": "hi"}}')).toEqual({
      messages: [{ content: 'hi', msg_type: 0 }],
      problems: [],
    });
  });

  it('reads a list of replies in order and keeps every QQ field', () => {
    const answer = {
      replies: [{ content: 'one' }, { msg_type: 2, markdown: { content: '**two**' }, keyboard: { id: 'k' } }],
    };
    expect(parse(JSON.stringify(answer)).messages).toEqual([
      { content: 'one', msg_type: 0 },
      { msg_type: 2, markdown: { content: '**two**' }, keyboard: { id: 'k' } },
    ]);
  });

  it('replaces the fields the bridge sets: msg_id, event_id, msg_seq', () => {
    const parsed = parse('{"reply": {"content": "x", "msg_id": "forged", "event_id": "e", "msg_seq": 1}}');
    expect(parsed.messages).toEqual([{ content: 'x', msg_type: 0 }]);
  });

  it('sends the valid replies and reports each malformed one', () => {
    const parsed = parse(
      '{"replies": [{"content": "ok"}, "text", {"msg_type": 0}, {"content": 5}, {"content": "t", "msg_type": 9}]}',
    );
    expect(parsed.messages).toEqual([{ content: 'ok', msg_type: 0 }]);
    expect(parsed.problems).toEqual([
      'replies[1] is not a JSON object (a QQ message body like {"content": "hi"})',
      'replies[2]: the message has nothing to send: give at least one of content, markdown, keyboard, ark, media, embed, input_notify',
      'replies[3]: content must be a string, not a number',
      'replies[4]: msg_type must be an integer from 0 to 7 (0 text, 2 markdown, 3 ark, 4 embed, 7 media), not 9',
    ]);
  });

  it('checks a reply with the send API rules: an object field that is not an object is reported', () => {
    expect(parse('{"reply": {"content": "x", "markdown": "**bold**"}}')).toEqual({
      messages: [],
      problems: ['reply: markdown must be a JSON object, not a string'],
    });
  });

  it('reports replies that are not a list, and reply beside replies', () => {
    expect(parse('{"replies": {"content": "x"}}').problems).toEqual([
      '"replies" must be a list of QQ message bodies',
    ]);
    const both = parse('{"replies": [{"content": "a"}], "reply": {"content": "b"}}');
    expect(both.messages).toEqual([{ content: 'a', msg_type: 0 }]);
    expect(both.problems).toEqual(['the answer has both "reply" and "replies"; "reply" was ignored']);
  });

  it('reads an interaction acknowledgement and reports a bad one', () => {
    expect(parse('{"interaction": {"code": 0}}')).toEqual({ messages: [], problems: [], interactionCode: 0 });
    expect(parse('{"interaction": {"code": 0}, "reply": {"content": "clicked"}}').messages).toHaveLength(1);
    expect(parse('{"interaction": {"code": 9}}').problems).toHaveLength(1);
    expect(parse('{"interaction": true}').interactionCode).toBeUndefined();
  });

  it('says so when an answer with replies was too long to read', () => {
    expect(parse('{"replies": [{"content": "aaaa', true).problems).toEqual([
      'the answer is too long to read, so its replies were not sent',
    ]);
    expect(parse('aaaa', true)).toEqual({ messages: [], problems: [] });
  });
});
