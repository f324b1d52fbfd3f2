import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { randomUUID } from 'node:crypto';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { EmitCommand, SocketFaultCommand } from './commands.js';
import { Connection, messageText } from './connection.js';
import {
  CLOSE,
  HEARTBEAT_ACK_FRAME,
  INVALID_SESSION_FRAME,
  OP,
  RECONNECT_FRAME,
  dispatchFrame,
  helloFrame,
  keepsSessionResumable,
  readyFrame,
  resumedFrame,
  type LoggedEvent,
} from './frames.js';
import { checkIdentify, checkResume, type HandshakeContext } from './handshake.js';
import { isRecord, parseJson } from './json.js';
import type { ResolvedSimulatorOptions } from './options.js';
import type { Session } from './session-log.js';
import type { SessionRegistry } from './session-registry.js';
import type { SessionStartLimit } from './start-limit.js';
import type { Counters } from './state.js';
import type { Timeline } from './timeline.js';
import { TimelineRecorder } from './timeline-recorder.js';
import type { TokenIssuer } from './token-issuer.js';
import { parseRequestTarget } from '../util/request-target.js';

/** What fault `malformed_frame` sends: a text frame that is not JSON, as a broken proxy or gateway might. */
export const MALFORMED_FRAME_TEXT = '{"op":0,"s":';

/** Frames above this are refused by `ws` itself (close 1009); a gateway frame is a few KiB at most. */
const MAX_FRAME_BYTES = 1 << 20;
const WEBSOCKET_PATHS = new Set(['/websocket', '/websocket/']);

export interface GatewayDeps {
  options: ResolvedSimulatorOptions;
  tokens: TokenIssuer;
  startLimit: SessionStartLimit;
  sessions: SessionRegistry;
  counters: Counters;
  /** every fault, close, handshake and READY/RESUMED, per shard (what dark time is computed from) */
  timeline: Timeline;
  logger: Logger;
}

/** What `emit` tells the caller: the event's sequence number in its session and its frame id. */
export interface EmitResult {
  s: number;
  id: string;
}

/**
 * The WebSocket side of the simulator (docs/qq-protocol.md D.8): Hello, Identify and Resume checks, heartbeats and their
 * timeout, dispatch with per-session logs, replay on Resume, and the faults a test can inject.
 */
export class Gateway {
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  readonly #connections = new Set<Connection>();
  readonly #handshake: HandshakeContext;
  readonly #log: Logger;
  readonly #timeline: TimelineRecorder;
  #nextConnectionId = 1;
  #stopped = false;

  constructor(private readonly deps: GatewayDeps) {
    this.#log = deps.logger;
    this.#timeline = new TimelineRecorder(deps.timeline, deps.sessions);
    this.#handshake = {
      isTokenValid: (token) => deps.tokens.isValid(token),
      grantedIntents: deps.options.grantedIntents,
      findSession: (sessionId) => deps.sessions.get(sessionId),
    };
  }

  get openConnections(): number {
    let open = 0;
    for (const connection of this.#connections) if (connection.open) open++;
    return open;
  }

  /** The HTTP server's `upgrade` handler: accepts WebSockets on `/websocket`, refuses anything else. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', (err) => this.#log.debug({ err: describeError(err) }, 'upgrade socket error'));
    const path = parseRequestTarget(req.url)?.pathname;
    if (this.#stopped || path === undefined || !WEBSOCKET_PATHS.has(path)) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#accept(ws));
  }

  /**
   * Dispatches an event to its shard's session (shard 0 by default): sent now if its socket can take it, logged
   * either way for replay. A shard with no session buffers the event until its next READY; the returned `s` is then
   * the one it will get (READY is s = 1 of the new session, buffered events follow in order).
   */
  emit({ t, d, id, shard: shardId = 0 }: EmitCommand): EmitResult {
    const eventId = id ?? `${t}:${randomUUID()}`;
    const session = this.deps.sessions.forShard(shardId);
    if (!session) {
      const waiting = this.deps.sessions.buffer(shardId, { t, id: eventId, d });
      this.#log.debug({ t, eventId, shardId, waiting }, 'event buffered until READY');
      return { s: waiting + 1, id: eventId };
    }
    const event = session.record(t, eventId, d);
    const connection = session.socket;
    if (connection?.canDispatch) this.#sendEvent(connection, event);
    else this.#log.debug({ t, eventId, shardId, s: event.s }, 'event logged for replay (no live socket)');
    return { s: event.s, id: eventId };
  }

  /**
   * Applies a fault to the socket of shard `command.shard`, or to every open socket; returns how many sockets (and,
   * for `invalid_session`, disconnected sessions) it hit. `invalid_session` also discards a matching session that
   * has no socket, so a client that is away finds its session gone when it tries to resume.
   */
  fault(command: SocketFaultCommand): number {
    const inScope = (session: Session | undefined): boolean =>
      command.shard === undefined || session?.shard[0] === command.shard;
    const targets = [...this.#connections].filter(
      (connection) => connection.open && inScope(connection.session),
    );
    let hit = targets.length;
    if (command.kind === 'invalid_session') {
      for (const session of this.deps.sessions.live()) {
        if (session.socket || !inScope(session)) continue;
        this.deps.sessions.discard(session);
        this.#timeline.faultOnSession(session, command.kind);
        hit++;
      }
    }
    for (const connection of targets) {
      this.#log.info({ kind: command.kind, connectionId: connection.connectionId }, 'fault injected');
      this.#timeline.fault(
        connection,
        command.kind,
        command.kind === 'close' ? (command.code ?? CLOSE.SESSION_TIMED_OUT) : undefined,
      );
      switch (command.kind) {
        case 'reconnect':
          connection.send(RECONNECT_FRAME);
          this.#close(connection, CLOSE.SESSION_TIMED_OUT, 'reconnect requested');
          break;
        case 'invalid_session':
          connection.send(INVALID_SESSION_FRAME);
          if (connection.session) this.deps.sessions.discard(this.#detach(connection, connection.session));
          break;
        case 'close':
          this.#close(connection, command.code ?? CLOSE.SESSION_TIMED_OUT, 'closed by fault injection');
          break;
        case 'cut':
          this.#terminate(connection, 'link cut by fault injection');
          break;
        case 'half_dead':
          connection.halfDead = true;
          break;
        case 'hello':
          connection.send(helloFrame(this.deps.options.helloHeartbeatInterval));
          break;
        case 'malformed_frame':
          // The socket and the session stay as they are: a client should drop the frame and carry on.
          connection.sendText(MALFORMED_FRAME_TEXT);
          break;
      }
    }
    return hit;
  }

  /** Terminates every socket and stops accepting new ones. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const connection of this.#connections) {
      connection.markClosing();
      connection.ws.terminate();
    }
    this.#connections.clear();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }

  #accept(ws: WebSocket): void {
    const { options, counters } = this.deps;
    const connectionId = this.#nextConnectionId++;
    const connection: Connection = new Connection(ws, connectionId, options.heartbeatTimeoutMs, () =>
      this.#close(connection, CLOSE.SESSION_TIMED_OUT, 'session timed out: no heartbeat'),
    );
    counters.connections++;
    this.#connections.add(connection);
    ws.on('message', (data) => this.#onMessage(connection, data));
    ws.on('close', (code, reason) => this.#onClosed(connection, code, reason.toString('utf8')));
    ws.on('error', (err) => this.#log.warn({ connectionId, err: describeError(err) }, 'websocket error'));
    this.#log.info({ connectionId }, 'websocket connected');
    connection.send(helloFrame(options.helloHeartbeatInterval));
  }

  #onMessage(connection: Connection, data: RawData): void {
    if (connection.closing) return;
    try {
      const parsed = parseJson(messageText(data));
      if (!parsed.ok || !isRecord(parsed.value) || typeof parsed.value.op !== 'number') {
        this.#close(connection, CLOSE.INVALID_PAYLOAD, 'invalid payload');
        return;
      }
      const { op, d } = parsed.value;
      this.#log.debug({ connectionId: connection.connectionId, op }, 'frame received');
      if (op === OP.HEARTBEAT) this.#onHeartbeat(connection);
      else if (op === OP.IDENTIFY) this.#onIdentify(connection, d);
      else if (op === OP.RESUME) this.#onResume(connection, d);
      else this.#close(connection, CLOSE.UNKNOWN_OPCODE, 'invalid opcode');
    } catch (err) {
      // A bug here must cost one connection, never the simulator process.
      this.#log.error(
        { connectionId: connection.connectionId, err: describeError(err) },
        'frame handling failed',
      );
      this.#terminate(connection, 'internal simulator error');
    }
  }

  #onHeartbeat(connection: Connection): void {
    this.deps.counters.heartbeats++;
    connection.heartbeatReceived();
    if (connection.halfDead) return;
    if (connection.send(HEARTBEAT_ACK_FRAME)) this.deps.counters.heartbeatAcks++;
  }

  #onIdentify(connection: Connection, d: unknown): void {
    const { sessions, counters, startLimit } = this.deps;
    counters.identifies++;
    this.#timeline.identifyReceived(connection, d);
    if (connection.session) {
      this.#close(connection, CLOSE.ALREADY_AUTHENTICATED, 'already authenticated');
      return;
    }
    const check = checkIdentify(d, this.#handshake);
    if (!check.ok) {
      this.#log.warn(
        { connectionId: connection.connectionId, code: check.code },
        `identify refused: ${check.reason}`,
      );
      if (check.invalidSessionFirst) connection.send(INVALID_SESSION_FRAME);
      this.#close(connection, check.code, check.reason);
      return;
    }
    const shardId = check.shard[0];
    const previous = sessions.forShard(shardId);
    if (previous) this.#retire(previous, 'replaced by a new identify on its shard');
    const session = sessions.create(check.shard);
    startLimit.consume();
    this.#attach(connection, session);
    connection.send(readyFrame(session.nextSeq(), session.id, session.shard));
    this.#timeline.sent('ready_sent', connection, session);
    this.#log.info({ connectionId: connection.connectionId, sessionId: session.id, shardId }, 'READY');
    for (const pending of sessions.takePending(shardId)) {
      this.#sendEvent(connection, session.record(pending.t, pending.id, pending.d));
    }
  }

  #onResume(connection: Connection, d: unknown): void {
    this.deps.counters.resumes++;
    this.#timeline.resumeReceived(connection, d);
    if (connection.session) {
      this.#close(connection, CLOSE.ALREADY_AUTHENTICATED, 'already authenticated');
      return;
    }
    const check = checkResume(d, this.#handshake);
    if (check.ok === 'invalid_session') {
      this.#log.warn({ connectionId: connection.connectionId }, 'resume of an unknown session: op 9');
      connection.send(INVALID_SESSION_FRAME);
      return;
    }
    if (!check.ok) {
      this.#log.warn(
        { connectionId: connection.connectionId, code: check.code },
        `resume refused: ${check.reason}`,
      );
      if (check.discards) this.#retire(check.discards, 'resume refused');
      this.#close(connection, check.code, check.reason);
      return;
    }
    const { session, seq } = check;
    const previous = session.socket;
    if (previous) {
      // One socket per session: the old one is dropped, but the session lives on in the new one.
      this.#detach(previous, session);
      this.#terminate(previous, 'session resumed on another connection');
    }
    this.#attach(connection, session);
    session.resumes++;
    const missed = session.eventsAfter(seq);
    for (const event of missed) this.#sendEvent(connection, event);
    connection.send(resumedFrame(session.nextSeq()));
    this.#timeline.sent('resumed_sent', connection, session);
    this.#log.info(
      { connectionId: connection.connectionId, sessionId: session.id, seq, replayed: missed.length },
      'RESUMED',
    );
  }

  #sendEvent(connection: Connection, event: LoggedEvent): void {
    if (connection.canDispatch && connection.send(dispatchFrame(event))) this.deps.counters.dispatched++;
  }

  /** Server-initiated close with a code; the code decides whether the session stays resumable. */
  #close(connection: Connection, code: number, reason: string): void {
    if (connection.closing) return;
    connection.markClosing();
    this.deps.counters.closes.push({ code, reason, by: 'server' });
    this.#timeline.closed(connection, code, 'server');
    const session = connection.session;
    if (session) {
      this.#detach(connection, session);
      if (!keepsSessionResumable(code)) this.deps.sessions.discard(session);
    }
    this.#log.info({ connectionId: connection.connectionId, code, reason }, 'closing websocket');
    connection.ws.close(code, reason);
  }

  /** Drops the TCP link without a close frame (the client sees 1006); the session stays resumable. */
  #terminate(connection: Connection, reason: string): void {
    if (connection.closing) return;
    connection.markClosing();
    this.deps.counters.closes.push({ code: CLOSE.ABNORMAL, reason, by: 'server' });
    this.#timeline.closed(connection, CLOSE.ABNORMAL, 'server');
    if (connection.session) this.#detach(connection, connection.session);
    this.#log.info({ connectionId: connection.connectionId, reason }, 'terminating websocket');
    connection.ws.terminate();
  }

  #onClosed(connection: Connection, code: number, reason: string): void {
    this.#connections.delete(connection);
    if (connection.closing) return; // closed by us, already recorded
    connection.markClosing();
    this.deps.counters.closes.push({ code, reason, by: 'client' });
    this.#timeline.closed(connection, code, 'client');
    // Whatever code the client used, its session stays resumable: a bridge closing on shutdown must resume after.
    if (connection.session) this.#detach(connection, connection.session);
    this.#log.info({ connectionId: connection.connectionId, code }, 'websocket closed by client');
  }

  /** Discards a session that a new Identify replaces, dropping its socket if it still has one. */
  #retire(session: Session, reason: string): void {
    const socket = session.socket;
    if (socket) this.#terminate(socket, reason);
    this.deps.sessions.discard(session);
  }

  #attach(connection: Connection, session: Session): void {
    connection.session = session;
    connection.shardId = session.shard[0];
    session.socket = connection;
  }

  #detach(connection: Connection, session: Session): Session {
    connection.session = undefined;
    if (session.socket === connection) session.socket = undefined;
    return session;
  }
}
