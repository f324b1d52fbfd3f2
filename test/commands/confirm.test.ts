import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { confirm } from '../../src/commands/confirm.js';

/** Asks through a PassThrough pair; `typed` is written to the input once the question is out, then `end`s it. */
async function ask(typed: string | undefined, end = false): Promise<{ yes: boolean; shown: string }> {
  const input = new PassThrough();
  const output = new PassThrough();
  const shown: string[] = [];
  output.on('data', (chunk: Buffer) => {
    shown.push(chunk.toString('utf8'));
    if (shown.join('').includes('[y/N] ')) {
      if (typed !== undefined) input.write(typed);
      if (end) input.end();
    }
  });
  const yes = await confirm('delete 3 dead letters? [y/N] ', { input, output });
  return { yes, shown: shown.join('') };
}

describe('confirm', () => {
  it.each(['y\n', 'Y\n', 'yes\n', ' YES \n'])('takes %j as yes', async (typed) => {
    expect(await ask(typed)).toEqual({ yes: true, shown: 'delete 3 dead letters? [y/N] ' });
  });

  it.each(['\n', 'n\n', 'no\n', 'yess\n', 'sure\n', 'y es\n'])('takes %j as no', async (typed) => {
    expect((await ask(typed)).yes).toBe(false);
  });

  it('takes the input ending before an answer as no, and ends the line', async () => {
    expect(await ask(undefined, true)).toEqual({ yes: false, shown: 'delete 3 dead letters? [y/N] \n' });
  });

  it('needs the answer ended with Enter: a y and then the input ending is a no', async () => {
    expect((await ask('y', true)).yes).toBe(false);
  });
});
