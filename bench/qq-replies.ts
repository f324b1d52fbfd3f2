/**
 * The replies the bridge sent to QQ, read from the bench's own simulator: a running count of the messages QQ
 * stored, for the closed loop to steer by, and once a run is over the tally of its message log (`GET
 * /_sim/messages`), which has every send with its arrival time.
 */
import type { SentMessagesView, Simulator } from '../src/simulator/index.js';
import { summarize, type LatencySummary } from './stats.js';
import { sleep } from './time.js';

/** How often the count is read: often enough to steer a closed loop, rarely enough to cost the bench nothing. */
const POLL_MS = 5;

/** Messages the simulator stored (outcome `delivered`) since this counter started, at most 5 ms old. */
export class QqReplyCounter {
  value = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(sim: Simulator) {
    // The state's counter, not the log: the log is copied on every read, and grows with the run.
    const base = sim.state().messagesDelivered;
    this.timer = setInterval(() => {
      this.value = sim.state().messagesDelivered - base;
    }, POLL_MS);
  }

  /** Resolves true once `value` reaches `count`, false after `timeoutMs`. */
  async waitFor(count: number, timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (this.value < count) {
      if (performance.now() > deadline) return false;
      await sleep(POLL_MS);
    }
    return true;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** What became of the replies to events 1..N of one run. */
export interface ReplyTally {
  /** Events with at least one reply stored at QQ. */
  replied: number;
  /** Events with no reply stored at QQ. */
  lost: number;
  /** Replies stored beyond the first for an event. */
  duplicates: number;
  /** Sends QQ refused (outcome `rejected`); the worker retries what it may, so these cost time, not replies. */
  rejected: number;
  /** Stored replies whose content is not the number of an event of the run. */
  untracked: number;
  /** Event emitted → its first reply stored at QQ, ms (the simulator's clock has ms resolution). */
  latency: LatencySummary;
}

/**
 * Tallies the simulator's log of one run. Event `seq` (1-based) was emitted at `sentAtMs[seq - 1]`, and the
 * receiver answered it with the reply `{"content": "<seq>"}`.
 */
export function tallyReplies(log: SentMessagesView, sentAtMs: Float64Array): ReplyTally {
  const events = sentAtMs.length;
  const firstAtMs = new Float64Array(events).fill(NaN);
  let duplicates = 0;
  let rejected = 0;
  let untracked = 0;
  for (const message of log.messages) {
    if (message.outcome === 'rejected') rejected++;
    if (message.outcome !== 'delivered') continue;
    const content = (message.body as { content?: unknown } | null)?.content;
    const seq = typeof content === 'string' ? Number(content) : NaN;
    if (!(Number.isInteger(seq) && seq >= 1 && seq <= events)) {
      untracked++;
      continue;
    }
    if (Number.isNaN(firstAtMs[seq - 1]!)) firstAtMs[seq - 1] = message.at;
    else duplicates++;
  }
  const latencies: number[] = [];
  for (let i = 0; i < events; i++) {
    if (!Number.isNaN(firstAtMs[i]!)) latencies.push(firstAtMs[i]! - sentAtMs[i]!);
  }
  return {
    replied: latencies.length,
    lost: events - latencies.length,
    duplicates,
    rejected,
    untracked,
    latency: summarize(latencies),
  };
}
