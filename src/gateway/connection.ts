import { WebSocket, type ClientOptions, type RawData } from 'ws';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { FrameSource } from './durable-pump.js';
import { isOversizeFrameError } from './frame-reader.js';
import type { Heartbeat } from './heartbeat.js';
import type { Ending } from './reconnect-plan.js';

/**
 * How long a close we started (code 4000) may wait for the server's close frame before the socket is destroyed;
 * ws waits 30 s by default, which after op 7 would be 30 s of dark time on a server that never answers.
 */
const CLOSE_TIMEOUT_MS = 2_000;

/** One WebSocket connection of a session. Its signal owns every timer of it: ending it aborts them all. */
export class Connection implements FrameSource {
  readonly abort = new AbortController();
  /** Started by the connection's first Hello. */
  heartbeat: Heartbeat | undefined;
  /** Hellos after the first, which are ignored. */
  extraHellos = 0;
  /** Why we ended it, once we did: the close code that follows may not override it (unless fatal/config). */
  ending: Ending | undefined;
  sentResume = false;
  /** READY or RESUMED arrived on it. */
  healthy = false;
  dispatchFailed = false;
  cancelHandshakeTimer: () => void = () => undefined;

  readonly ws: WebSocket;
  private readonly log: Logger;
  private readonly maxFrameBytes: number;

  /** Opens the socket; nothing is sent until the gateway's Hello. */
  constructor(url: string, options: { maxFrameBytes: number; handshakeTimeoutMs: number; log: Logger }) {
    this.log = options.log;
    this.maxFrameBytes = options.maxFrameBytes;
    // closeTimeout is a ws option its type declarations do not list yet
    const wsOptions: ClientOptions & { closeTimeout: number } = {
      maxPayload: options.maxFrameBytes,
      handshakeTimeout: options.handshakeTimeoutMs,
      perMessageDeflate: false,
      closeTimeout: CLOSE_TIMEOUT_MS,
    };
    this.ws = new WebSocket(url, wsOptions);
  }

  /** Aborted once the connection ends: every timer of it is armed under this signal. */
  get signal(): AbortSignal {
    return this.abort.signal;
  }

  /**
   * Wires the socket's events: messages while the connection lives, its close (once, however it ended: the one
   * place that decides what follows), and errors, which are only logged: 'close' follows every 'error' in ws.
   */
  listen(on: {
    message: (data: RawData, isBinary: boolean) => void;
    close: (code: number, reason: string) => void;
    /** A frame over the size cap (ws `maxPayload`) arrived; ws closes the socket with 1009. */
    oversize: () => void;
  }): void {
    this.ws.on('message', (data: RawData, isBinary: boolean) => {
      if (!this.signal.aborted) on.message(data, isBinary);
    });
    this.ws.on('close', (code: number, reason: Buffer) => on.close(code, reason.toString('utf8')));
    this.ws.on('error', (err: Error) => {
      if (this.signal.aborted) return;
      if (isOversizeFrameError(err)) {
        on.oversize();
        this.log.error(
          { maxFrameBytes: this.maxFrameBytes },
          'gateway sent a frame over the size cap; raise gateway.max_frame_bytes if this repeats',
        );
      } else {
        this.log.warn({ err: describeError(err) }, 'gateway socket error');
      }
    });
  }

  pause(): void {
    this.ws.pause();
  }

  resume(): void {
    this.ws.resume();
  }

  /** Closes with 4000 (resumable: a normal closure may make QQ discard the session), or terminates if not open. */
  close(reason: string): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(4000, reason);
    else this.ws.terminate();
  }

  /** Sends one frame if the socket is open; a failed send only matters through the close that follows it. */
  send(frame: { op: number; d: unknown }): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    this.ws.send(JSON.stringify(frame), (err) => {
      if (err) this.log.debug({ err: describeError(err) }, 'gateway send failed');
    });
  }

  /**
   * Ends the connection for a reason we chose: aborts its signal (every timer of it) and closes the socket. The
   * first reason wins; the socket's close event then decides what follows (reconnector.ts).
   */
  end(ending: Ending, detail: string): void {
    if (this.ending) return;
    this.ending = ending;
    this.abort.abort();
    this.log.debug({ reason: ending.reason, detail }, 'ending gateway connection');
    // terminate(): a zombie link may never complete a close handshake; 'close' still fires (code 1006).
    if (ending.reason === 'zombie' || ending.reason === 'handshake_timeout') this.ws.terminate();
    else this.close(ending.reason);
  }
}
