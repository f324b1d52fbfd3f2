import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { OP } from '../qq/opcodes.js';
import { timeoutUnder } from '../util/abortable.js';
import type { Connection } from './connection.js';
import { startHelloHeartbeat } from './heartbeat.js';
import type { Ending } from './reconnect-plan.js';
import type { SessionRecord } from './session-record.js';
import type { SessionState } from './session-state.js';
import type { GatewaySessionOptions } from './session-options.js';

export interface HandshakeOptions {
  session: Pick<
    GatewaySessionOptions,
    'tokens' | 'intents' | 'minHeartbeatIntervalMs' | 'heartbeatGraceMs' | 'invalidSessionDelayMs'
  >;
  shard: [number, number];
  random: () => number;
  log: Logger;
  state: SessionState;
  /** The session to RESUME, if any (without one, or without a durable seq, the handshake IDENTIFYs). */
  record: SessionRecord;
  /** READY or RESUMED arrived: the reconnect backoff starts over. */
  onHealthy: () => void;
  /** Sends a heartbeat on the connection (with the newest seq received). */
  beat: (conn: Connection) => void;
  /** Ends the connection for a reason we chose (ignored once it is no longer the session's connection). */
  end: (conn: Connection, ending: Ending, detail: string) => void;
}

/**
 * How a connection becomes a session (docs/qq-protocol.md §3.3): Hello starts the heartbeat and its ACK watchdog,
 * then Identify or Resume is sent, and READY/RESUMED (or op 9, the gateway's refusal) answers it, all within the
 * handshake timeout. Every timer it arms runs under the connection's signal.
 */
export class Handshake {
  constructor(private readonly options: HandshakeOptions) {}

  /** Arms the handshake timeout: no READY/RESUMED within `timeoutMs` ends the connection. */
  begin(conn: Connection, timeoutMs: number): void {
    conn.cancelHandshakeTimer = timeoutUnder(conn.signal, timeoutMs, () =>
      this.options.end(
        conn,
        { reason: 'handshake_timeout', action: 'resume', minDelayMs: 0 },
        'no READY/RESUMED in time',
      ),
    );
  }

  hello(conn: Connection, d: unknown): void {
    const { log, session } = this.options;
    const sent = (d as { heartbeat_interval?: unknown } | undefined)?.heartbeat_interval;
    if (conn.heartbeat) {
      // QQ sends one Hello per connection. Acting on another would start a second heartbeat beside the first and
      // send a second Identify, which the gateway refuses (4005). It is ignored rather than answered by closing:
      // a gateway that always sent two would otherwise turn every connection into a reconnect, while the first
      // Hello's heartbeat and watchdog keep guarding this link either way.
      conn.extraHellos++;
      log[conn.extraHellos === 1 ? 'warn' : 'debug'](
        { keptIntervalMs: conn.heartbeat.intervalMs },
        'gateway sent another Hello on the same connection; ignored it and kept the first heartbeat interval',
      );
      return;
    }
    conn.heartbeat = startHelloHeartbeat(sent, {
      minIntervalMs: session.minHeartbeatIntervalMs,
      graceMs: session.heartbeatGraceMs,
      random: this.options.random,
      log,
      signal: conn.signal,
      beat: () => this.options.beat(conn),
      onSilence: (silentForMs) => {
        log.warn({ silentForMs }, 'no heartbeat ACK from the gateway; link is dead');
        this.options.end(
          conn,
          { reason: 'zombie', action: 'resume', minDelayMs: 0 },
          'missing heartbeat ACK',
        );
      },
    });
    void this.authenticate(conn);
  }

  /**
   * READY or RESUMED, the answer to Identify or Resume: the handshake is over. Returns false for one out of order
   * (the state machine logs it), which the caller drops with its seq.
   */
  answered(conn: Connection, t: 'READY' | 'RESUMED', d: unknown, seq: number | null): boolean {
    const { log, state, record } = this.options;
    if (!state.fire(t === 'READY' ? 'ready' : 'resumed')) return false;
    if (t === 'READY') {
      const sessionId = (d as { session_id?: unknown } | null | undefined)?.session_id;
      if (typeof sessionId === 'string') record.ready(sessionId, Date.now());
    }
    conn.cancelHandshakeTimer();
    conn.healthy = true;
    this.options.onHealthy();
    log.info({ seq }, t === 'READY' ? 'session ready' : 'session resumed');
    return true;
  }

  /** Op 9: the gateway refused the Identify/Resume or ended the session; `resumable` is its `d`. */
  invalidSession(conn: Connection, resumable: boolean): void {
    const { log, session, end } = this.options;
    const [minMs, maxMs] = session.invalidSessionDelayMs ?? [1_000, 5_000];
    const minDelayMs = Math.round(minMs + this.options.random() * (maxMs - minMs));
    if (resumable) {
      log.warn('gateway invalidated the session but allows a resume (op 9, d=true)');
      end(conn, { reason: 'invalid_session', action: 'resume', minDelayMs }, 'op 9 resumable');
      return;
    }
    const seq = this.options.record.durableSeq;
    if (conn.sentResume && seq !== null) {
      log.warn(
        { seq },
        'gateway refused to resume the session (op 9); identifying a new one — events after this seq that QQ did not replay cannot be recovered',
      );
    } else {
      log.warn('gateway invalidated the session (op 9); identifying a new one');
    }
    end(conn, { reason: 'invalid_session', action: 'identify', minDelayMs }, 'op 9 not resumable');
  }

  private async authenticate(conn: Connection): Promise<void> {
    const { log, session, state } = this.options;
    let token: string;
    try {
      // the cached token: a reconnect does not wait for a token request (4004 and a new session refresh it first)
      token = await session.tokens.get();
    } catch (err) {
      log.warn({ err: describeError(err) }, 'could not obtain an access token for the gateway');
      this.options.end(
        conn,
        { reason: 'network', action: 'resume', minDelayMs: 0 },
        'access token unavailable',
      );
      return;
    }
    if (conn.signal.aborted) return;
    const { sessionId, durableSeq: seq } = this.options.record;
    if (sessionId !== undefined && seq !== null) {
      conn.sentResume = true;
      state.fire('resume_sent');
      conn.send({ op: OP.RESUME, d: { token: `QQBot ${token}`, session_id: sessionId, seq } });
      log.info({ seq }, 'resuming session');
    } else {
      state.fire('identify_sent');
      conn.send({
        op: OP.IDENTIFY,
        d: { token: `QQBot ${token}`, intents: session.intents, shard: this.options.shard },
      });
      log.info({ intents: session.intents }, 'identifying');
    }
  }
}
