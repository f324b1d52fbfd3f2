import type { SocketFaultKind } from './commands.js';
import type { Connection } from './connection.js';
import { identifiedShard } from './handshake.js';
import { isRecord } from './json.js';
import type { Session } from './session-log.js';
import type { SessionRegistry } from './session-registry.js';
import type { Timeline } from './timeline.js';

/** What the gateway notes on the timeline, in its own terms: connections, sessions and the frames they carry. */
export class TimelineRecorder {
  constructor(
    private readonly timeline: Timeline,
    private readonly sessions: SessionRegistry,
  ) {}

  /** A socket fault hit `connection`; `code` is the close code a `close` fault sends. */
  fault(connection: Connection, kind: SocketFaultKind, code?: number): void {
    this.timeline.record({
      event: 'fault',
      shard: connection.shardId ?? null,
      connection: connection.connectionId,
      fault: kind,
      ...(code === undefined ? {} : { code }),
    });
  }

  /** A socket fault discarded `session`, which had no socket (an `invalid_session` to a client that is away). */
  faultOnSession(session: Session, kind: SocketFaultKind): void {
    this.timeline.record({
      event: 'fault',
      shard: session.shard[0],
      connection: null,
      fault: kind,
      session_id: session.id,
    });
  }

  identifyReceived(connection: Connection, d: unknown): void {
    this.timeline.record({
      event: 'identify_received',
      shard: identifiedShard(d),
      connection: connection.connectionId,
    });
  }

  /** A Resume arrived; its shard is the one of the session it names, if the simulator ever created that session. */
  resumeReceived(connection: Connection, d: unknown): void {
    const named = isRecord(d) && typeof d.session_id === 'string' ? d.session_id : undefined;
    this.timeline.record({
      event: 'resume_received',
      shard: named === undefined ? null : (this.sessions.shardOf(named) ?? null),
      connection: connection.connectionId,
      ...(named === undefined ? {} : { session_id: named }),
    });
  }

  sent(event: 'ready_sent' | 'resumed_sent', connection: Connection, session: Session): void {
    this.timeline.record({
      event,
      shard: session.shard[0],
      connection: connection.connectionId,
      session_id: session.id,
    });
  }

  closed(connection: Connection, code: number, by: 'server' | 'client'): void {
    this.timeline.record({
      event: 'close',
      shard: connection.shardId ?? null,
      connection: connection.connectionId,
      code,
      by,
    });
  }
}
