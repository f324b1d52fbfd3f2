/**
 * The HTTP ceiling: a plain undici loop POSTing envelope bodies straight to the receiver, `concurrency` requests
 * in flight on a keep-alive pool, for a fixed time. Nothing but HTTP on loopback between the two processes.
 */
import { Agent, request } from 'undici';
import { normalize } from '../src/events/normalize.js';
import { BENCH_EVENT_TYPE, SEQ_FIELD, benchEventData, nowMs } from './payload.js';
import { SIM_APP_ID } from './pipes.js';

export interface DirectOptions {
  url: string;
  concurrency: number;
  durationMs: number;
  rampMs: number;
  maxRequests: number;
}

export interface DirectResult {
  requests: number;
  failures: number;
  perSec: number;
}

/**
 * The body the bridge would deliver for a benchmark event (the project's own normalizer), with `seq` spliced in
 * as text so the loop costs a string replace per request, not a JSON.stringify.
 */
function bodyFactory(): (seq: number) => string {
  const { envelope } = normalize(
    { op: 0, s: 2, t: BENCH_EVENT_TYPE, id: `${BENCH_EVENT_TYPE}:direct`, d: benchEventData(0, nowMs()) },
    { appId: SIM_APP_ID, shard: [0, 1], receivedAt: new Date() },
  );
  const template = JSON.stringify(envelope);
  const needle = `"${SEQ_FIELD}":0`;
  if (!template.includes(needle)) throw new Error('the envelope lost the bench seq field');
  return (seq) => template.replace(needle, `"${SEQ_FIELD}":${seq}`);
}

export async function runDirect(options: DirectOptions): Promise<DirectResult> {
  const body = bodyFactory();
  const agent = new Agent({ connections: options.concurrency, keepAliveTimeout: 30_000 });
  const startMs = nowMs();
  const endMs = startMs + options.durationMs;
  let sent = 0;
  let done = 0;
  let failures = 0;
  let mark: { atMs: number; done: number } | undefined;

  const loop = async (): Promise<void> => {
    while (nowMs() < endMs && sent < options.maxRequests) {
      const seq = ++sent;
      try {
        const response = await request(options.url, {
          dispatcher: agent,
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: body(seq),
        });
        await response.body.dump();
        if (response.statusCode >= 300) failures++;
      } catch {
        failures++;
      }
      done++;
      if (mark === undefined && nowMs() >= startMs + options.rampMs) mark = { atMs: nowMs(), done };
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, loop));
  const end = { atMs: nowMs(), done };
  await agent.close();
  const from = mark ?? { atMs: startMs, done: 0 };
  return { requests: done, failures, perSec: ((end.done - from.done) / (end.atMs - from.atMs)) * 1000 };
}
