import { WebSocket, type ClientOptions } from 'ws';
import type { FrameSource } from './durable-pump.js';
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

  /** Opens the socket; nothing is sent until the gateway's Hello. */
  constructor(url: string, options: { maxFrameBytes: number; handshakeTimeoutMs: number }) {
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
}
