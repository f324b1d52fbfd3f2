import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One delivery the receiver acknowledged: the headers that identify it, and its timing. */
export interface AcknowledgedDelivery {
  /** `webhook-id`. */
  readonly id: string;
  /** `x-qqwb-attempt`: the bridge's attempt number (a stalled-job re-run repeats it). */
  readonly attempt: string;
  /** The request's URL path: which target it was sent for, when several point at this receiver. */
  readonly path: string;
  /** When the receiver got to the request (its event loop may lag the sender), and when its 200 was fully written. */
  readonly arrivedAt: number;
  readonly ackedAt: number;
}

/**
 * A webhook receiver that counts, per `webhook-id`, how many deliveries it acknowledged. An acknowledgement
 * counts only once its 200 was fully written to an open connection: a delivery whose sender died before the
 * answer left is one the bridge could not know about, and its re-delivery is not a duplicate.
 */
export interface CountingReceiver {
  /** `<origin>/events`. */
  readonly url: string;
  /** `http://127.0.0.1:<port>`, for targets told apart by their paths. */
  readonly origin: string;
  /** webhook-id → acknowledged deliveries, whatever the path. */
  readonly acknowledged: Map<string, number>;
  /** URL path → webhook-id → acknowledged deliveries to that path (one target's count, as events share ids). */
  readonly acknowledgedByPath: Map<string, Map<string, number>>;
  /** Every acknowledged delivery, in the order its answer finished. */
  readonly deliveries: readonly AcknowledgedDelivery[];
  /** Requests seen at all, acknowledged or not. */
  readonly requests: () => number;
  /** Stops listening: new connections are refused (ECONNREFUSED), as for a target that is down. */
  goDown(): Promise<void>;
  /** Listens again on the same port. */
  comeBack(): Promise<void>;
  /** Delays every answer by this many ms (0 to stop), to keep deliveries in flight. */
  setDelay(ms: number): void;
  /**
   * Answers each delivery with the JSON `answer(body)` returns for its request body (undefined: the plain `ok`),
   * as a backend that replies to events in its answer does.
   */
  setAnswer(answer: ((body: string) => unknown) | undefined): void;
  close(): Promise<void>;
}

export async function startCountingReceiver(): Promise<CountingReceiver> {
  const acknowledged = new Map<string, number>();
  const acknowledgedByPath = new Map<string, Map<string, number>>();
  const deliveries: AcknowledgedDelivery[] = [];
  let requests = 0;
  let delayMs = 0;
  let answerOf: ((body: string) => unknown) | undefined;
  let port = 0;
  let server: Server;

  const listen = async (): Promise<void> => {
    server = createServer((req, res) => {
      requests++;
      const arrivedAt = Date.now();
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const id = String(req.headers['webhook-id'] ?? '');
        const attempt = String(req.headers['x-qqwb-attempt'] ?? '');
        const path = (req.url ?? '').split('?')[0] ?? '';
        const reply = answerOf?.(Buffer.concat(chunks).toString('utf8'));
        const answer = (): void => {
          res.on('finish', () => {
            const ackedAt = Date.now();
            acknowledged.set(id, (acknowledged.get(id) ?? 0) + 1);
            const onPath = acknowledgedByPath.get(path) ?? new Map<string, number>();
            acknowledgedByPath.set(path, onPath);
            onPath.set(id, (onPath.get(id) ?? 0) + 1);
            deliveries.push({ id, attempt, path, arrivedAt, ackedAt });
          });
          if (reply === undefined) res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
          else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(reply));
        };
        if (delayMs > 0) setTimeout(answer, delayMs);
        else answer();
      });
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  };
  const stop = (): Promise<void> =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });

  await listen();
  return {
    url: `http://127.0.0.1:${port}/events`,
    origin: `http://127.0.0.1:${port}`,
    acknowledged,
    acknowledgedByPath,
    deliveries,
    requests: () => requests,
    goDown: stop,
    comeBack: listen,
    setDelay: (ms) => {
      delayMs = ms;
    },
    setAnswer: (answer) => {
      answerOf = answer;
    },
    close: stop,
  };
}
