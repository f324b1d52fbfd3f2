import { createInterface } from 'node:readline/promises';

/** Where a question is asked and answered: the terminal, or any pair of streams. */
export interface PromptStreams {
  readonly input: NodeJS.ReadableStream;
  readonly output: NodeJS.WritableStream;
}

const YES = /^\s*y(?:es)?\s*$/i;

/**
 * Asks `question` on `output` and reads one line from `input`. Only `y` or `yes` (any case) is a yes; anything
 * else, the input ending first (Ctrl-D) or Ctrl-C is a no, so nothing irreversible happens by accident.
 */
export async function confirm(question: string, streams: PromptStreams): Promise<boolean> {
  const rl = createInterface({ input: streams.input, output: streams.output });
  // A pending question never settles when the input ends; the close event is what says so.
  const closed = new Promise<undefined>((resolve) => rl.once('close', () => resolve(undefined)));
  // On a terminal, Ctrl-C would otherwise just pause the input and leave the question waiting.
  rl.on('SIGINT', () => rl.close());
  try {
    const answer = await Promise.race([rl.question(question), closed]);
    if (answer === undefined) streams.output.write('\n');
    return answer !== undefined && YES.test(answer);
  } finally {
    rl.close();
  }
}
