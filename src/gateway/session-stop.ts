import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Connection } from './connection.js';
import type { DurablePump } from './durable-pump.js';
import type { Reconnector } from './reconnector.js';
import type { SessionSaver } from './session-saver.js';
import type { SessionState } from './session-state.js';

/** The parts of a session that stopping it touches; `conn` is its connection, already detached from it. */
export interface StoppingSession {
  conn: Connection | undefined;
  /** False: nothing is written to the store (a successor session owns the stored state). */
  persist: boolean;
  log: Logger;
  reconnector: Pick<Reconnector, 'cancel'>;
  saver: Pick<SessionSaver, 'silence' | 'close'>;
  pump: Pick<DurablePump<Connection>, 'drained' | 'isPaused'>;
  state: Pick<SessionState, 'fire'>;
}

/**
 * Stops a session in order (see GatewaySession.stop): no reconnect, no more frames read, the dispatches already
 * received made durable, the session saved, the socket closed resumably. Every step runs even if an earlier one
 * throws, so a failed save still closes the socket; the first error is rethrown at the end.
 */
export async function stopSession(session: StoppingSession): Promise<void> {
  const { conn, log, reconnector, saver, pump, state } = session;
  const errors: unknown[] = [];
  const step = async (what: string, run: () => unknown): Promise<void> => {
    try {
      await run();
    } catch (err) {
      errors.push(err);
      log.error(
        { err: describeError(err), step: what },
        'a step of stopping the gateway session failed (see step and err); the other steps still ran',
      );
    }
  };
  await step('cancel the reconnect', () => reconnector.cancel());
  if (!session.persist) await step('stop saving', () => saver.silence());
  await step('stop reading', () => {
    conn?.abort.abort();
    conn?.ws.removeAllListeners('message');
  });
  await step('wait for received dispatches', () => pump.drained());
  await step('save the session', () => saver.close());
  if (conn) await step('close the socket', () => closeForStop(conn, pump));
  await step('report stopped', () => state.fire('stop'));
  if (errors.length > 0) throw errors[0];
}

/** Closes the socket on stop with 4000: a normal closure (1000) may make QQ discard the session to resume. */
function closeForStop(conn: Connection, pump: Pick<DurablePump<Connection>, 'isPaused'>): void {
  conn.ws.on('error', () => undefined);
  // A paused socket would not read the server's close frame, and the close would hang until ws times it out.
  if (pump.isPaused(conn)) conn.ws.resume();
  conn.close('bridge shutting down');
}
