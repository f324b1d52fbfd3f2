import { WebSocket, type RawData } from 'ws';
import type { Session } from './session-log.js';

/**
 * One accepted WebSocket and what the gateway tracks about it. The gateway decides; this class only holds state and
 * wraps the socket so a closing or half-dead link is never written to by mistake.
 */
export class Connection {
  session: Session | undefined;
  /** The shard of the last session attached to it, kept after it is detached: the timeline names it on close. */
  shardId: number | undefined;
  /** Fault `half_dead`: TCP stays up, but no ACK and no dispatch is sent any more. */
  halfDead = false;
  /** Set once either side started closing; nothing more is sent or handled after that. */
  closing = false;
  readonly #heartbeatTimer: NodeJS.Timeout;

  constructor(
    readonly ws: WebSocket,
    readonly connectionId: number,
    heartbeatTimeoutMs: number,
    onHeartbeatTimeout: () => void,
  ) {
    this.#heartbeatTimer = setTimeout(onHeartbeatTimeout, heartbeatTimeoutMs);
    // The HTTP server keeps the process alive while the simulator runs; this timer must not on its own.
    this.#heartbeatTimer.unref();
  }

  get open(): boolean {
    return !this.closing && this.ws.readyState === WebSocket.OPEN;
  }

  /** Whether an event frame sent now would reach the client (a half-dead link swallows it). */
  get canDispatch(): boolean {
    return this.open && !this.halfDead;
  }

  /** A heartbeat arrived: the client is alive, restart the timeout. */
  heartbeatReceived(): void {
    this.#heartbeatTimer.refresh();
  }

  /** Sends one JSON frame if the socket is open; returns whether it was sent. */
  send(frame: object): boolean {
    if (!this.open) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /** Sends raw text as one frame if the socket is open (fault `malformed_frame`); returns whether it was sent. */
  sendText(text: string): boolean {
    if (!this.open) return false;
    this.ws.send(text);
    return true;
  }

  /** Marks the connection closed and stops its timer; the caller then closes or terminates the socket. */
  markClosing(): void {
    this.closing = true;
    clearTimeout(this.#heartbeatTimer);
  }
}

/** The text of a received message, whatever buffer shape `ws` delivered it in. */
export function messageText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}
