/**
 * A real loopback HTTP server that answers like QQ's API, for the outbound sender and worker tests that need
 * answers the simulator does not script (timeouts, cut bodies, token refusals, a body of 3 KiB): a token endpoint
 * issuing `tok-1`, `tok-2` … and API answers queued by the test.
 */
import type { ServerResponse } from 'node:http';
import { startReceiver, type CapturedRequest, type Receiver } from '../delivery/fixtures.js';

export const TOKEN_PATH = '/app/getAppAccessToken';

/** Answers one QQ API call; token requests are answered by the fake itself. */
export type Answer = (req: CapturedRequest, res: ServerResponse) => void;

export interface FakeQq {
  readonly origin: string;
  /** The API calls in arrival order, without the token requests. */
  calls(): CapturedRequest[];
  tokenRequests(): number;
  /** Queues the answers of the next API calls; once used up, calls get 200 `{"id":"m-<n>","timestamp":…}`. */
  answer(...answers: Answer[]): void;
  close(): Promise<void>;
}

/** Writes a JSON answer (a string body is sent as it is). */
export function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

/** Starts a fake QQ on 127.0.0.1:0. */
export async function startFakeQq(): Promise<FakeQq> {
  const queued: Answer[] = [];
  let issued = 0;
  let answered = 0;
  const receiver: Receiver = await startReceiver((req, res) => {
    if (req.url === TOKEN_PATH) {
      issued += 1;
      json(res, 200, { access_token: `tok-${issued}`, expires_in: '7200' });
      return;
    }
    answered += 1;
    const next = queued.shift();
    if (next) return next(req, res);
    json(res, 200, { id: `m-${answered}`, timestamp: 1_700_000_000 + answered });
  });
  return {
    origin: `http://127.0.0.1:${receiver.port}`,
    calls: () => receiver.requests.filter((r) => r.url !== TOKEN_PATH),
    tokenRequests: () => receiver.requests.filter((r) => r.url === TOKEN_PATH).length,
    answer: (...answers) => queued.push(...answers),
    close: () => receiver.close(),
  };
}

/** An origin nothing listens on (a port just closed), for connection-refused cases. */
export async function closedOrigin(): Promise<string> {
  const closed = await startReceiver();
  await closed.close();
  return `http://127.0.0.1:${closed.port}`;
}
