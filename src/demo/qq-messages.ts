/**
 * The way back, as the demo shows it: every message the bridge sends to QQ lands in the simulator's message log,
 * and this prints each one as it arrives (the sample receiver's reply to the @-message, and any other).
 */
import type { SentMessage, Simulator } from '../simulator/index.js';
import { formatQqMessageLine } from './format.js';

/** How often the log is read; the demo's replies take milliseconds, so this is what a person notices. */
const POLL_INTERVAL_MS = 50;

/** A running watch of the simulator's message log. */
export interface QqMessageWatch {
  /** Every message send printed so far, oldest first. */
  readonly seen: readonly SentMessage[];
  /** Prints what arrived since the last look; the watch calls it on its own timer too. */
  poll(): void;
  stop(): void;
}

/** Starts printing every message send the simulator receives, one {@link formatQqMessageLine} each. */
export function watchQqMessages(
  sim: Pick<Simulator, 'messages'>,
  print: (line: string) => void,
): QqMessageWatch {
  const seen: SentMessage[] = [];
  let read = 0;
  const poll = (): void => {
    const { messages } = sim.messages();
    if (messages.length < read) read = 0; // the log was emptied (POST /_sim/messages/reset)
    for (const message of messages.slice(read)) {
      seen.push(message);
      print(formatQqMessageLine(message));
    }
    read = messages.length;
  };
  const timer = setInterval(poll, POLL_INTERVAL_MS);
  timer.unref();
  return {
    seen,
    poll,
    stop: () => clearInterval(timer),
  };
}
