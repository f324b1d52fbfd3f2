import { BridgeError } from '../errors.js';
import { INTENTS } from '../qq/intents.js';
import { silentLogger, type Logger } from '../log.js';
import type { CallbackModeOptions } from './callback-mode.js';
import { resolveSendOptions, type ResolvedSendOptions, type SendOptions } from './send-options.js';

/** How to start a simulator. Every field is optional; defaults match the real platform where it has one. */
export interface SimulatorOptions {
  /** Interface to listen on. Default `127.0.0.1`. */
  host?: string;
  /** TCP port; 0 picks a free one. Default 0. */
  port?: number;
  /** The only app id the token endpoint accepts. Default `102000000`. */
  appId?: string;
  /** The only client secret the token endpoint accepts. Default `simulator-secret`. */
  clientSecret?: string;
  /** `heartbeat_interval` sent in Hello, ms. Default 45000. */
  heartbeatIntervalMs?: number;
  /**
   * The `heartbeat_interval` Hello carries, as is: any JSON value, or `undefined` to leave the field out. For testing
   * a client against a gateway that sends a hostile one; the simulator's heartbeat timeout still follows
   * `heartbeatIntervalMs`. Default `heartbeatIntervalMs`.
   */
  helloHeartbeatInterval?: unknown;
  /** No heartbeat from a client for this long → close 4009 (session stays resumable), ms. Default 2 × interval. */
  heartbeatTimeoutMs?: number;
  /** Lifetime of each issued access token, seconds. Default 7200. */
  tokenTtlSec?: number;
  /**
   * Intents this bot is approved for. Identify with other known bits → op 9 then close 4014; with bits the platform
   * does not define → op 9 then close 4013. Default GROUP_MEMBERS | GROUP_AND_C2C_EVENT | INTERACTION.
   */
  grantedIntents?: number;
  /** `shards` reported by `/gateway/bot`. Default 1. */
  recommendedShards?: number;
  /** Logger; the simulator logs as child `{ component: 'simulator' }`. Default silent. */
  logger?: Logger;
  /**
   * Clock for token lifetimes, the session-start window, webhook callback timestamps, reply and recall windows and
   * send timestamps, ms since epoch. Default `Date.now`. Injected so tests can step through the token rotation
   * window or a reply window exactly; heartbeat timing always uses real timers.
   */
  now?: () => number;
  /** The send routes: reply and recall windows, active messages, error status, timestamp format. */
  sends?: SendOptions;
  /**
   * Callback mode (callback-mode.ts, `simulate --webhook-url`): the URL is validated with op 13 at start, and
   * `POST /_sim/emit` then delivers each event as a signed callback to it, never over the WebSocket. Signed with
   * `secret`, default `clientSecret`. Default off.
   */
  webhook?: CallbackModeOptions;
}

export type ResolvedSimulatorOptions = Required<Omit<SimulatorOptions, 'sends' | 'webhook'>> & {
  sends: ResolvedSendOptions;
  webhook: CallbackModeOptions | undefined;
};

export const DEFAULT_GRANTED_INTENTS =
  INTENTS.GROUP_MEMBERS | INTENTS.GROUP_AND_C2C_EVENT | INTENTS.INTERACTION;

/** Fills in defaults and rejects impossible values with a BRIDGE_ERR_USAGE error naming the option. */
export function resolveOptions(opts: SimulatorOptions = {}): ResolvedSimulatorOptions {
  const heartbeatIntervalMs = opts.heartbeatIntervalMs ?? 45_000;
  const resolved: ResolvedSimulatorOptions = {
    host: opts.host ?? '127.0.0.1',
    port: opts.port ?? 0,
    appId: opts.appId ?? '102000000',
    clientSecret: opts.clientSecret ?? 'simulator-secret',
    heartbeatIntervalMs,
    helloHeartbeatInterval:
      'helloHeartbeatInterval' in opts ? opts.helloHeartbeatInterval : heartbeatIntervalMs,
    heartbeatTimeoutMs: opts.heartbeatTimeoutMs ?? 2 * heartbeatIntervalMs,
    tokenTtlSec: opts.tokenTtlSec ?? 7200,
    grantedIntents: opts.grantedIntents ?? DEFAULT_GRANTED_INTENTS,
    recommendedShards: opts.recommendedShards ?? 1,
    logger: opts.logger ?? silentLogger(),
    now: opts.now ?? Date.now,
    sends: resolveSendOptions(opts.sends),
    webhook: opts.webhook,
  };
  requireInteger('port', resolved.port, 0, 65_535);
  requireInteger('heartbeatIntervalMs', resolved.heartbeatIntervalMs, 1);
  requireInteger('heartbeatTimeoutMs', resolved.heartbeatTimeoutMs, 1);
  requireInteger('tokenTtlSec', resolved.tokenTtlSec, 1);
  requireInteger('grantedIntents', resolved.grantedIntents, 0, 0x7fff_ffff);
  requireInteger('recommendedShards', resolved.recommendedShards, 1);
  if (!isJsonValue(resolved.helloHeartbeatInterval)) {
    throw new BridgeError(
      'BRIDGE_ERR_USAGE',
      'simulator option helloHeartbeatInterval must be JSON-serializable',
    );
  }
  if (resolved.webhook) requireHttpUrl('webhook.url', resolved.webhook.url);
  if (resolved.appId === '')
    throw new BridgeError('BRIDGE_ERR_USAGE', 'simulator option appId must not be empty');
  if (resolved.clientSecret === '') {
    throw new BridgeError('BRIDGE_ERR_USAGE', 'simulator option clientSecret must not be empty');
  }
  return resolved;
}

function requireInteger(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new BridgeError(
      'BRIDGE_ERR_USAGE',
      `simulator option ${name} must be an integer from ${min} to ${max}, got ${String(value)}`,
    );
  }
}

function requireHttpUrl(name: string, value: string): void {
  let protocol = '';
  try {
    protocol = new URL(value).protocol;
  } catch {
    // reported below
  }
  if (protocol !== 'http:' && protocol !== 'https:') {
    throw new BridgeError(
      'BRIDGE_ERR_USAGE',
      `simulator option ${name} must be an http:// or https:// URL such as http://127.0.0.1:9464/qq/callback, ` +
        `got ${JSON.stringify(value)}`,
    );
  }
}

function isJsonValue(value: unknown): boolean {
  try {
    JSON.stringify(value);
    return true;
  } catch {
    return false; // cycles, BigInt
  }
}
