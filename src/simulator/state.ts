import type { SessionRegistry, SessionSummary } from './session-registry.js';
import type { Timeline, TimelineEntry } from './timeline.js';

/** One closed WebSocket: the code and reason, and which side closed it (a cut link is recorded as 1006). */
export interface CloseRecord {
  code: number;
  reason: string;
  by: 'server' | 'client';
}

/**
 * A JSON-serializable snapshot of the simulator, for `waitFor` predicates and `GET /_sim/state`. Counters count
 * frames received, successful or not (so a test can assert that a client did not hot-loop); `sessions[].resumes`
 * counts successful resumes only.
 */
export interface SimulatorState {
  sessions: SessionSummary[];
  /** Identify (op 2) frames received */
  identifies: number;
  /** Resume (op 6) frames received */
  resumes: number;
  /** Heartbeat (op 1) frames received */
  heartbeats: number;
  /** Heartbeat ACK (op 11) frames sent */
  heartbeatAcks: number;
  /** WebSocket connections accepted since start */
  connections: number;
  /** WebSocket connections open now */
  openConnections: number;
  /** `POST /app/getAppAccessToken` requests, valid or not (fault answers included) */
  tokenRequests: number;
  /** `GET /gateway` requests, authorized or not (fault answers included) */
  gatewayRequests: number;
  /** `GET /gateway/bot` requests, authorized or not (fault answers included) */
  gatewayBotRequests: number;
  closes: CloseRecord[];
  /** event frames (op 0 other than READY / RESUMED) written to sockets, live or replayed */
  dispatched: number;
  /** emitted events waiting for their shard's first READY */
  pending: number;
  /** message sends (`POST …/messages`) received, whatever their outcome */
  sendRequests: number;
  /** messages delivered at QQ (outcome `delivered` in `messages()`) */
  messagesDelivered: number;
  /**
   * The gateway's per-shard timeline, oldest first: socket faults injected, sockets closed or dropped, Identify and
   * Resume received, READY and RESUMED sent, each with its epoch-ms `at`. The last 1,000 entries; dark-time.ts
   * computes dark time from it.
   */
  timeline: TimelineEntry[];
  /** timeline entries dropped (oldest first) since start, to keep the last 1,000 */
  timelineDropped: number;
}

/** The mutable counters behind `SimulatorState`, shared by the HTTP and WebSocket sides. */
export class Counters {
  identifies = 0;
  resumes = 0;
  heartbeats = 0;
  heartbeatAcks = 0;
  connections = 0;
  tokenRequests = 0;
  gatewayRequests = 0;
  gatewayBotRequests = 0;
  dispatched = 0;
  sendRequests = 0;
  messagesDelivered = 0;
  readonly closes: CloseRecord[] = [];
}

/** A fresh snapshot; nothing in it aliases live simulator objects. */
export function buildState(
  counters: Counters,
  sessions: SessionRegistry,
  openConnections: number,
  timeline: Timeline,
): SimulatorState {
  return {
    sessions: sessions.summaries(),
    identifies: counters.identifies,
    resumes: counters.resumes,
    heartbeats: counters.heartbeats,
    heartbeatAcks: counters.heartbeatAcks,
    connections: counters.connections,
    openConnections,
    tokenRequests: counters.tokenRequests,
    gatewayRequests: counters.gatewayRequests,
    gatewayBotRequests: counters.gatewayBotRequests,
    closes: counters.closes.map((close) => ({ ...close })),
    dispatched: counters.dispatched,
    pending: sessions.pendingCount(),
    sendRequests: counters.sendRequests,
    messagesDelivered: counters.messagesDelivered,
    timeline: timeline.entries(),
    timelineDropped: timeline.dropped,
  };
}
