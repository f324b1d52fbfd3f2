import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BridgeError } from '../errors.js';
import {
  isHttpFault,
  parseAnyFaultCommand,
  parseEmitCommand,
  type AnyFaultCommand,
  type EmitCommand,
  type FaultKind,
  type FaultablePath,
} from './commands.js';
import { CallbackMode, callbackEmitAnswer, type CallbackEmitResult } from './callback-mode.js';
import { Gateway, type EmitResult } from './gateway.js';
import { createRequestHandler } from './http.js';
import { HttpFaults } from './http-faults.js';
import { InboundRegistry } from './inbound-registry.js';
import { MessageLog, type SentMessage, type SentMessagesView } from './messages.js';
import { resolveOptions, type SimulatorOptions } from './options.js';
import { SendFaults, isSendFaultCommand, type SendFaultKind } from './send-faults.js';
import { SendRules } from './send-rules.js';
import { SessionRegistry } from './session-registry.js';
import { SessionStartLimit } from './start-limit.js';
import { buildState, Counters, type SimulatorState } from './state.js';
import { Timeline } from './timeline.js';
import { TokenIssuer } from './token-issuer.js';
import { waitForState } from './wait-for.js';
import { WebhookPush, type WebhookPushHandle, type WebhookPushOptions } from './webhook-push.js';

export type { SimulatorOptions } from './options.js';
export type { SimulatorState, CloseRecord } from './state.js';
export type { SessionSummary } from './session-registry.js';
export type { TimelineEntry, TimelineEvent } from './timeline.js';
export { TIMELINE_CAPACITY } from './timeline.js';
export {
  darkIntervals,
  darkTimeAfterFault,
  darkTimeFrom,
  faultEntries,
  totalDarkMs,
  type DarkInterval,
  type DarkTime,
  type DarkTimeStart,
} from './dark-time.js';
export type { FaultKind, FaultablePath, SocketFaultKind } from './commands.js';
export { FAULT_KINDS } from './commands.js';
export type { SendFaultKind } from './send-faults.js';
export type { SendOptions } from './send-options.js';
export type {
  InteractionAck,
  RecallAttempt,
  SendOutcome,
  SentMessage,
  SentMessagesView,
} from './messages.js';
export { MALFORMED_FRAME_TEXT } from './gateway.js';
export type {
  CallbackOutcome,
  WebhookPushHandle,
  WebhookPushOptions,
  WebhookPushStats,
} from './webhook-push.js';
export type { CallbackEmitResult, CallbackModeOptions } from './callback-mode.js';

const DEFAULT_WAIT_TIMEOUT_MS = 5000;

/** A running QQ stand-in (docs/design.md §6 "simulate", docs/qq-protocol.md D.8). */
export interface Simulator {
  /** `http://HOST:PORT`: token endpoint, `/gateway`, `/gateway/bot`, QQ's send routes and `/_sim/*`. */
  readonly origin: string;
  /** `ws://HOST:PORT/websocket`, also what `/gateway` returns. */
  readonly wsUrl: string;
  /**
   * Dispatches event `t` with data `d` to the session of `opts.shard` (default 0): sent now if its socket is open
   * and not half-dead, always logged for replay; buffered until the next READY when the shard has no session yet.
   * `opts.id` defaults to `<t>:<uuid>`. Returns the event's `s` and frame id. Throws BRIDGE_ERR_USAGE on bad input,
   * and in callback mode (option `webhook`), where events go out by `emitCallback` only.
   */
  emit(t: string, d: unknown, opts?: { id?: string; shard?: number }): { s: number; id: string };
  /**
   * Callback mode only (option `webhook`): validates the URL with op 13 unless done, then delivers event `t` as a
   * signed callback, retried until acknowledged or out of attempts, and resolves with how that ended, as
   * `POST /_sim/emit` answers it. Rejects with BRIDGE_ERR_USAGE on bad input or without option `webhook`.
   */
  emitCallback(t: string, d: unknown, opts?: { id?: string }): Promise<CallbackEmitResult>;
  /**
   * Injects a fault. Socket faults (`reconnect`, `invalid_session`, `close`, `cut`, `half_dead`, `hello`,
   * `malformed_frame`) hit the socket of `opts.shard`, or every open socket when no shard is given; `opts.code`
   * (default 4009) is used by `close` only. HTTP faults arm the answer of the next `opts.times` (default 1) requests
   * to a route: `http_error` answers `opts.path` (`/app/getAppAccessToken`, `/gateway` or `/gateway/bot`) with HTTP
   * `opts.status` (400–599); `token_rate_limit` answers the token endpoint with QQ's rate-limit refusal (HTTP 200
   * `{"code":100001,"message":"Too many requests"}`). The send faults (`send_error` with `status`,
   * `send_stored_error`, `send_rate_limited` with `retry_after`) hit the next `opts.times` message sends. Returns
   * how many sockets were hit, or how many requests will be. Throws BRIDGE_ERR_USAGE on options that do not fit
   * the kind.
   */
  fault(
    kind: FaultKind | SendFaultKind,
    opts?: {
      code?: number;
      shard?: number;
      path?: FaultablePath;
      status?: number;
      times?: number;
      retry_after?: number;
    },
  ): number;
  /** A JSON-serializable snapshot. */
  state(): SimulatorState;
  /** Resolves with the first state satisfying `predicate`; rejects after `timeoutMs` (default 5000) with the last state. */
  waitFor(predicate: (s: SimulatorState) => boolean, timeoutMs?: number): Promise<SimulatorState>;
  /**
   * Every message send, interaction acknowledgement and recall the send routes received, oldest first, as
   * `GET /_sim/messages` answers it. Only outcome `delivered` is a message at QQ.
   */
  messages(): SentMessagesView;
  /** The sends QQ stored (outcome `delivered`, recalled or not), oldest first: "exactly one message at QQ". */
  delivered(): SentMessage[];
  /** Like `waitFor`, over `messages()`. */
  waitForMessages(
    predicate: (view: SentMessagesView) => boolean,
    timeoutMs?: number,
  ): Promise<SentMessagesView>;
  /**
   * Empties the log `messages()` reads (as `POST /_sim/messages/reset` does). QQ's memory stays: a `msg_seq`
   * already used is still a duplicate, and delivered messages can still be recalled.
   */
  resetMessages(): void;
  /** The token the token endpoint would return now (minting one if none is valid). */
  currentToken(): string;
  /** Invalidates every issued token now: the next Identify or Resume with an old one is closed with 4004. */
  expireTokens(): void;
  /**
   * Turns on HTTP-callback push (docs/qq-protocol.md §6) to `url`, as saving a callback URL in the QQ console does. First
   * the op-13 URL validation: rejects with BRIDGE_ERR_USAGE, pushing nothing, unless the answer is 200 with the same
   * `plain_token` and a signature that verifies with the bot's public key. From then on every `emit` (and
   * `POST /_sim/emit`) is also POSTed to `url`, signed (`X-Signature-Ed25519` over timestamp + body), without `s`,
   * and retried with backoff until answered 200 `{"op":12,"d":0}` or out of attempts. The WebSocket side is
   * unchanged: a bridge still connected there gets the events too, as during a switch-over. A second call replaces
   * the first push. Rejects with BRIDGE_ERR_USAGE in callback mode, which has its push already.
   */
  startWebhookPush(url: string, opts?: WebhookPushOptions): Promise<WebhookPushHandle>;
  /** Terminates every socket, stops the webhook push and closes the server. Safe to call twice. */
  close(): Promise<void>;
}

/** Starts a simulator and resolves once it listens. */
export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const options = resolveOptions(opts);
  const logger = options.logger.child({ component: 'simulator' });
  const counters = new Counters();
  const sessions = new SessionRegistry();
  const tokens = new TokenIssuer(options.tokenTtlSec, options.now);
  const startLimit = new SessionStartLimit(options.now);
  const httpFaults = new HttpFaults();
  const timeline = new Timeline();
  const gateway = new Gateway({ options, tokens, startLimit, sessions, counters, timeline, logger });
  const state = (): SimulatorState => buildState(counters, sessions, gateway.openConnections, timeline);
  const inbound = new InboundRegistry();
  const messageLog = new MessageLog();
  const sendFaults = new SendFaults();

  let push: WebhookPush | undefined;
  const callbacks = options.webhook
    ? new CallbackMode({
        appId: options.appId,
        secret: options.webhook.secret ?? options.clientSecret,
        now: options.now,
        logger,
        options: options.webhook,
      })
    : undefined;
  const noteSent = (t: string, id: string, d: unknown): void => inbound.noteEmitted(t, id, d, options.now());
  /**
   * Every emit, from the API or `/_sim/emit`: the gateway logs and sends it, the webhook push (if on) POSTs it,
   * and the send routes remember it as something a passive message may answer.
   */
  const emitEvent = (command: EmitCommand): EmitResult => {
    const result = gateway.emit(command);
    push?.push({ t: command.t, id: result.id, d: command.d });
    noteSent(command.t, result.id, command.d);
    return result;
  };
  /** QQ reaches the bot through a READY or RESUMED socket, or through its webhook push once that is on. */
  const connected = (): boolean =>
    push !== undefined ||
    callbacks?.validated === true ||
    sessions.live().some((session) => session.socket?.open === true);
  const applyFault = (command: AnyFaultCommand): number => {
    if (isSendFaultCommand(command)) return sendFaults.arm(command);
    return isHttpFault(command) ? httpFaults.arm(command) : gateway.fault(command);
  };

  let wsUrl = '';
  const server = createServer(
    createRequestHandler({
      options,
      tokens,
      startLimit,
      counters,
      faults: httpFaults,
      logger,
      wsUrl: () => wsUrl,
      control: {
        emit: emitEvent,
        fault: applyFault,
        state,
        ...(callbacks && {
          emitCallback: async (command) => callbackEmitAnswer(await callbacks.emit(command, noteSent)),
        }),
      },
      sends: {
        appId: options.appId,
        tokens,
        rules: new SendRules(inbound, options.sends, options.now),
        log: messageLog,
        faults: sendFaults,
        options: options.sends,
        counters,
        now: options.now,
        connected,
        logger,
      },
    }),
  );
  server.on('upgrade', (req, socket, head) => gateway.handleUpgrade(req, socket, head));
  server.on('clientError', (err, socket) => {
    logger.debug({ err: err.message }, 'malformed HTTP request');
    socket.destroy();
  });
  await listen(server, options.port, options.host);
  server.on('error', (err) => logger.error({ err: err.message }, 'simulator server error'));

  const { port } = server.address() as AddressInfo;
  const hostPart = options.host.includes(':') ? `[${options.host}]` : options.host;
  const origin = `http://${hostPart}:${port}`;
  wsUrl = `ws://${hostPart}:${port}/websocket`;
  logger.info({ origin, wsUrl, appId: options.appId }, 'simulator listening');
  // As saving the URL in the QQ console does; a failure is logged and retried on the next emit.
  await callbacks?.validate();

  let closing: Promise<void> | undefined;
  return {
    origin,
    wsUrl,
    emit(t, d, emitOpts = {}) {
      if (callbacks) throw callbackModeOnly('emit: events go out as callbacks; use emitCallback');
      const command = parseEmitCommand({ t, d, ...emitOpts });
      if (!command.ok) throw new BridgeError('BRIDGE_ERR_USAGE', `simulator emit: ${command.error}`);
      return emitEvent(command.value);
    },
    async emitCallback(t, d, emitOpts = {}) {
      if (!callbacks)
        throw new BridgeError('BRIDGE_ERR_USAGE', 'simulator emitCallback needs option webhook');
      const command = parseEmitCommand({ t, d, ...emitOpts });
      if (!command.ok) throw new BridgeError('BRIDGE_ERR_USAGE', `simulator emit: ${command.error}`);
      return callbacks.emit(command.value, noteSent);
    },
    fault(kind, faultOpts = {}) {
      const command = parseAnyFaultCommand({ kind, ...faultOpts });
      if (!command.ok) throw new BridgeError('BRIDGE_ERR_USAGE', `simulator fault: ${command.error}`);
      return applyFault(command.value);
    },
    state,
    waitFor: (predicate, timeoutMs = DEFAULT_WAIT_TIMEOUT_MS) => waitForState(state, predicate, timeoutMs),
    messages: () => messageLog.view(),
    delivered: () => messageLog.view().messages.filter((message) => message.outcome === 'delivered'),
    waitForMessages: (predicate, timeoutMs = DEFAULT_WAIT_TIMEOUT_MS) =>
      waitForState(() => messageLog.view(), predicate, timeoutMs),
    resetMessages: () => {
      messageLog.reset();
    },
    currentToken: () => tokens.issue().accessToken,
    expireTokens: () => tokens.expireAll(),
    async startWebhookPush(url, pushOpts = {}) {
      if (callbacks) throw callbackModeOnly('startWebhookPush: the push to option webhook.url is on already');
      const next = new WebhookPush({
        url,
        appId: options.appId,
        secret: pushOpts.secret ?? options.clientSecret,
        now: options.now,
        logger,
        options: pushOpts,
      });
      await next.validate();
      await push?.stop();
      push = next;
      return next;
    },
    close() {
      closing ??= (async () => {
        await push?.stop();
        await callbacks?.stop();
        await gateway.stop();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        logger.info('simulator stopped');
      })();
      return closing;
    },
  };
}

function callbackModeOnly(what: string): BridgeError {
  return new BridgeError('BRIDGE_ERR_USAGE', `simulator in callback mode (option webhook): ${what}`);
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
