import type { Logger } from '../log.js';
import type { GatewaySession, GatewaySessionHooks } from './session.js';
import type { GatewayUrlContext } from './session-options.js';
import type { SessionStore } from './session-store.js';
import type { StartBudgetVerdict } from './start-budget.js';

/** Why a successor session was opened: the current one reached `gateway.rotate_every`, or its resumes keep failing. */
export type RotationReason = 'age' | 'resume_failing';
/**
 * How a rotation ended: `rotated` (the successor took over), `failed` (it was not READY in time or closed first),
 * `old_recovered` (the old session resumed first), `skipped_budget` / `skipped_discovery` (no successor opened).
 */
export type RotationResult = 'rotated' | 'failed' | 'old_recovered' | 'skipped_budget' | 'skipped_discovery';

/** The app's hooks of one shard: the session hooks, fed with shard-level status, plus the rotation count. */
export interface ShardHooks extends GatewaySessionHooks {
  onRotation?(reason: RotationReason, result: RotationResult): void;
}

/** What one session of the shard is built with; the rest (shard, intents, tokens, timings) is the manager's. */
export interface SessionRole {
  fresh: boolean;
  store: SessionStore;
  hooks: GatewaySessionHooks;
  resolveGatewayUrl: (context: GatewayUrlContext) => Promise<string>;
  maxResumeFailures: number;
}

export interface RotatingShardOptions {
  shardId: number;
  /** Age of a session (since its READY) at which a successor is opened; > 0. */
  rotateEveryMs: number;
  store: SessionStore;
  createSession: (role: SessionRole) => GatewaySession;
  resolveGatewayUrl: (context: GatewayUrlContext) => Promise<string>;
  hooks?: ShardHooks | undefined;
  /** Whether an age rotation may spend a session start now (StartBudget.check). */
  checkBudget: (shardId: number) => Promise<StartBudgetVerdict>;
  /** The manager's session-start pacing (QQ's `max_concurrency` per 5 s). */
  pace: (start: () => Promise<void>) => Promise<void>;
  /** A successor not READY within this is given up. */
  handshakeTimeoutMs: number;
  /** Waits before trying again after a failed rotation; the last one repeats. */
  retryDelaysMs?: readonly number[] | undefined;
  logger: Logger;
}

/** A session's resumes failing this many times in a row open a successor (the default `maxResumeFailures`). */
export const RESUME_FAILURES_BEFORE_SUCCESSOR = 3;
export const DEFAULT_ROTATION_RETRY_DELAYS_MS = [60_000, 5 * 60_000, 15 * 60_000, 30 * 60_000];
