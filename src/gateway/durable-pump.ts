import type { DispatchFrame } from '../events/envelope.js';
import type { Logger } from '../log.js';

/** See {@link DurablePumpOptions.maxPendingFrames}: a few MB of frames, seconds of even a fast bot's traffic. */
export const DEFAULT_MAX_PENDING_FRAMES = 2_000;

/** The reading side of one connection, as the pump sees it. */
export interface FrameSource {
  /** Set by the pump once a dispatch of this source could not be made durable: its later frames are skipped. */
  dispatchFailed: boolean;
  /** Stops reading from the socket (the burst waits in TCP buffers and at QQ). */
  pause(): void;
  resume(): void;
}

export interface DurablePumpOptions<S extends FrameSource> {
  shard: [number, number];
  /** Makes a batch durable, all or none (see GatewaySessionOptions.onDispatch). */
  onDispatch: (frames: readonly DispatchFrame[], shard: [number, number]) => Promise<void>;
  /** Told once the durable seq moved, so the saver persists it. */
  onDurable: () => void;
  /** A batch of `source` could not be made durable; the source's connection should end and resume. */
  onFailed: (source: S, error: string) => void;
  /**
   * Dispatches received but not yet durable at which the source is paused; reading resumes once fewer than half
   * of it wait. Default {@link DEFAULT_MAX_PENDING_FRAMES}.
   */
  maxPendingFrames?: number | undefined;
  log: Logger;
}

interface PendingDispatch<S> {
  source: S;
  frame: DispatchFrame;
  s: number | null;
  /** READY / RESUMED: not events, but their seq counts. */
  control: boolean;
  generation: number;
}

/**
 * Received dispatches → onDispatch → the durable seq. Frames are handed over in batches (group commit: whatever
 * arrived while the previous call was in flight), strictly in sequence order and one call at a time, so the
 * durable seq is a true "everything up to here". A session that is dropped starts a new generation: work queued
 * for the old session can no longer move the new session's seq.
 */
export class DurablePump<S extends FrameSource> {
  private pending: PendingDispatch<S>[] = [];
  private pumping: Promise<void> | undefined;
  private generation = 0;
  private seq: number | null = null;
  /** Sources paused for backpressure (an old connection's, and the one that replaced it, may both be). */
  private readonly paused = new Set<S>();
  private readonly maxPending: number;

  constructor(private readonly options: DurablePumpOptions<S>) {
    this.maxPending = options.maxPendingFrames ?? DEFAULT_MAX_PENDING_FRAMES;
  }

  /** The newest `s` whose dispatch, and every earlier one, is durable; null before any. */
  get durableSeq(): number | null {
    return this.seq;
  }

  /** Dispatches received and not yet handed to onDispatch. */
  get size(): number {
    return this.pending.length;
  }

  /** Continues a persisted session: its seq is durable already. */
  restore(seq: number): void {
    this.seq = seq;
  }

  /** The session was dropped: forget its seq; batches still in flight for it no longer count. */
  newGeneration(): void {
    this.generation++;
    this.seq = null;
  }

  /** Queues a received dispatch; pauses `source` when the backlog reaches the limit. */
  push(source: S, frame: DispatchFrame, control: boolean): void {
    this.pending.push({ source, frame, s: frame.s ?? null, control, generation: this.generation });
    if (!this.paused.has(source) && this.pending.length >= this.maxPending) {
      this.paused.add(source);
      source.pause();
      this.options.log.warn(
        { pending: this.pending.length },
        'enqueueing is behind the gateway; pausing reads until it catches up',
      );
    }
    this.start();
  }

  /** Resolves once every dispatch received so far has been handed over (durable, or failed). */
  async drained(): Promise<void> {
    while (this.pumping) await this.pumping;
  }

  /** Whether `source` is paused for backpressure: a socket being closed must read again to see the close frame. */
  isPaused(source: S): boolean {
    return this.paused.has(source);
  }

  private start(): void {
    if (this.pumping) return;
    this.pumping = this.pump().finally(() => {
      this.pumping = undefined;
      // a frame that arrived after the loop's last check but before this callback would otherwise wait forever
      if (this.pending.length > 0) this.start();
    });
  }

  private async pump(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0).filter((item) => !item.source.dispatchFailed);
      const frames = batch.filter((item) => !item.control).map((item) => item.frame);
      try {
        if (frames.length > 0) await this.options.onDispatch(frames, this.options.shard);
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        const sources = new Set(batch.map((item) => item.source));
        for (const source of sources) source.dispatchFailed = true;
        this.options.log.error(
          { err: error, seqs: [frames[0]?.s, frames.at(-1)?.s] },
          'could not make dispatches durable; resuming so QQ replays them',
        );
        for (const source of sources) this.options.onFailed(source, error);
        continue;
      }
      let advanced = false;
      for (const item of batch) {
        // work queued for a dropped session must not move the new session's seq
        if (item.generation !== this.generation || item.s === null) continue;
        if (this.seq === null || item.s > this.seq) {
          this.seq = item.s;
          advanced = true;
        }
      }
      if (advanced) this.options.onDurable();
      this.resumeIfCaughtUp();
    }
  }

  private resumeIfCaughtUp(): void {
    if (this.paused.size === 0 || this.pending.length >= this.maxPending / 2) return;
    for (const source of this.paused) source.resume();
    this.paused.clear();
    this.options.log.info(
      { pending: this.pending.length },
      'enqueueing caught up; reading from the gateway again',
    );
  }
}
