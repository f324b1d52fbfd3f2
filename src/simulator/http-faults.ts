import type { FaultablePath, HttpFaultCommand } from './commands.js';

/**
 * The token endpoint's answer when QQ rate-limits it (docs/qq-protocol.md §1.2: code 100001 "Too many requests", served
 * with HTTP 200 and no `access_token`, like the other token errors).
 */
const TOKEN_RATE_LIMITED_CODE = 100001;

/** What an armed HTTP fault answers instead of the route. */
export interface FaultAnswer {
  status: number;
  body: { code: number; message: string };
}

/**
 * HTTP faults armed through `fault()` / `POST /_sim/fault`: each route answers its armed faults first, one request
 * each, in the order they were armed, then behaves normally again.
 */
export class HttpFaults {
  readonly #armed = new Map<FaultablePath, FaultAnswer[]>();

  /** Arms `command.times` answers on its path; returns how many requests it will hit. */
  arm(command: HttpFaultCommand): number {
    const answer: FaultAnswer =
      command.kind === 'token_rate_limit'
        ? { status: 200, body: { code: TOKEN_RATE_LIMITED_CODE, message: 'Too many requests' } }
        : {
            status: command.status,
            body: { code: command.status, message: `simulated HTTP ${command.status} (fault injection)` },
          };
    const queue = this.#armed.get(command.path) ?? [];
    for (let i = 0; i < command.times; i++) queue.push(answer);
    this.#armed.set(command.path, queue);
    return command.times;
  }

  /** The answer for one request to `path`, if a fault is armed there; consumes it. */
  take(path: FaultablePath): FaultAnswer | undefined {
    return this.#armed.get(path)?.shift();
  }
}
