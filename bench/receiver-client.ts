import type { ChildProcess } from 'node:child_process';
import { exited, forkBenchEntry, stopChild } from './children.js';
import type { PhaseStats, ReceiverCommand, ReceiverMessage, ReceiverMode } from './receiver-protocol.js';
import { sleep } from './time.js';

type Pending = { resolve: (stats: PhaseStats | undefined) => void; reject: (err: Error) => void };
/** A command without its id (distributes over the union, which a plain Omit would collapse). */
type CommandBody = ReceiverCommand extends infer C ? (C extends unknown ? Omit<C, 'id'> : never) : never;

const START_TIMEOUT_MS = 10_000;
const COMMAND_TIMEOUT_MS = 30_000;

/** The receiver child process (bench/receiver.ts) and its IPC channel. */
export class ReceiverProcess {
  /** Total 2xx deliveries since the receiver started, at most 10 ms old. */
  delivered = 0;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {
    child.on('message', (message: ReceiverMessage) => this.onMessage(message));
    void exited(child).then((code) => {
      for (const { reject } of this.pending.values()) reject(new Error(`receiver exited (${String(code)})`));
      this.pending.clear();
    });
  }

  /** Forks the receiver and resolves once it listens. */
  static async start(): Promise<ReceiverProcess> {
    const child = forkBenchEntry('./receiver.ts');
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('receiver did not start')), START_TIMEOUT_MS);
      child.once('message', (message: ReceiverMessage) => {
        clearTimeout(timer);
        if (message.type === 'ready') resolve(message.port);
        else reject(new Error(`receiver sent ${message.type} before ready`));
      });
      child.once('exit', (code) => reject(new Error(`receiver exited with ${String(code)} while starting`)));
    });
    return new ReceiverProcess(child, port);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The URL of target `index`. */
  url(index: number): string {
    return `http://127.0.0.1:${this.port}/t/${index}`;
  }

  /** Starts a new phase: `targets` targets, events numbered 1..maxSeq tracked. */
  async reset(targets: number, maxSeq: number): Promise<void> {
    await this.command({ cmd: 'reset', targets, maxSeq });
  }

  async stats(expectedPerTarget: number): Promise<PhaseStats> {
    const stats = await this.command({ cmd: 'stats', expectedPerTarget });
    if (!stats) throw new Error('receiver answered stats without stats');
    return stats;
  }

  async setMode(mode: ReceiverMode): Promise<void> {
    await this.command({ cmd: 'mode', mode });
  }

  /**
   * Resolves true once `delivered` reaches `total`, false when `timeoutMs` passes first. Polls the pushed count
   * (a few ms stale at most) rather than asking, so waiting costs the receiver nothing.
   */
  async waitForDelivered(total: number, timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (this.delivered < total) {
      if (performance.now() > deadline) return false;
      await sleep(5);
    }
    return true;
  }

  async stop(): Promise<void> {
    this.child.disconnect();
    await stopChild(this.child, 2_000);
  }

  private command(body: CommandBody): Promise<PhaseStats | undefined> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`receiver did not answer ${body.cmd} in ${COMMAND_TIMEOUT_MS} ms`));
      }, COMMAND_TIMEOUT_MS);
      this.pending.set(id, {
        resolve: (stats) => {
          clearTimeout(timer);
          resolve(stats);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
      this.child.send({ ...body, id });
    });
  }

  private onMessage(message: ReceiverMessage): void {
    if (message.type === 'count') {
      this.delivered = message.delivered;
      return;
    }
    if (message.type !== 'reply') return;
    const pending = this.pending.get(message.id);
    if (!pending) return;
    this.pending.delete(message.id);
    if (message.error !== undefined) pending.reject(new Error(`receiver: ${message.error}`));
    else pending.resolve(message.stats);
  }
}
