import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import {
  RESUME_FAILURES_BEFORE_SUCCESSOR,
  type RotatingShardOptions,
  type RotationReason,
} from './rotation.js';
import { RotationSchedule } from './rotation-schedule.js';
import type { GatewaySession, ReconnectReason, ShardStatus } from './session.js';
import type { GatewayUrlContext } from './session-options.js';
import type { ShardSession } from './shard-session.js';
import { StoreHandover, type StoreView } from './store-handover.js';

interface Rotation {
  reason: RotationReason;
  successor: GatewaySession;
  view: StoreView;
  timer: NodeJS.Timeout;
  /** Age rotations only: the old session's reconnects, held back while the shard counts as healthy. */
  withheld: [ReconnectReason, string, number][] | undefined;
  /** Settles the old session's held reconnect: true = go on, false = it was replaced (and stopped). */
  release: (goOn: boolean) => void;
  released: Promise<boolean>;
}

const isHealthy = (status: ShardStatus): boolean => status === 'ready' || status === 'resumed';

/**
 * One shard whose gateway session is replaced before it grows old (docs/qq-protocol.md §9 item 10) or when its
 * resumes keep failing: a successor IDENTIFYs beside the running session, and once it is READY the old one is stopped
 * without persisting and the successor owns the stored session (StoreHandover: the old never writes after it).
 *
 * The app's hooks see the shard, not the sessions: during an age rotation the old session's status and reconnects
 * are held back (the shard stays healthy), and the successor's are not forwarded until it is current, so a rotation
 * counts as no dark time and no reconnect. If the successor fails, the old session goes on, what was held back is
 * reported, and the rotation is tried again later. Events that reach both sessions during the overlap are
 * deduplicated downstream by event id (queue/job-options.ts `deliveryJobOptions`, events/event-id.ts `dedupeKeyOf`).
 */
export class RotatingShard implements ShardSession {
  private current: GatewaySession;
  private rotation: Rotation | undefined;
  private preparing = false;
  private readonly handover: StoreHandover;
  private reported: ShardStatus = 'idle';
  private readonly schedule: RotationSchedule;
  private stopped = false;
  private readonly log: Logger;

  constructor(private readonly options: RotatingShardOptions) {
    this.log = options.logger.child({ component: 'gateway-rotation', shardId: options.shardId });
    this.handover = new StoreHandover(options.store, this.log);
    this.schedule = new RotationSchedule(options.rotateEveryMs, options.retryDelaysMs, (reason) => {
      void this.rotate(reason);
    });
    this.current = this.spawn(false, this.handover.view());
  }

  start(): Promise<void> {
    return this.current.start();
  }

  /** Stops a successor in flight (without persisting), then the current session as `options` say. */
  async stop(options?: { persist?: boolean }): Promise<void> {
    this.stopped = true;
    this.schedule.clear();
    const rotation = this.rotation;
    this.rotation = undefined;
    if (rotation) await this.dropSuccessor(rotation);
    await this.current.stop(options);
    rotation?.release(true);
  }

  get currentStatus(): ShardStatus {
    return this.reported;
  }

  /** The current session's snapshot, with the shard-level status. */
  snapshot(): ReturnType<GatewaySession['snapshot']> {
    return { ...this.current.snapshot(), status: this.reported };
  }

  private spawn(fresh: boolean, store: StoreView): GatewaySession {
    const app = this.options.hooks;
    const ref: { session?: GatewaySession } = {};
    const isCurrent = (): boolean => ref.session === this.current;
    const session = this.options.createSession({
      fresh,
      store,
      // Resumes that keep failing (4009, a dropped link) open a successor instead of an IDENTIFY of the session's
      // own; a resume QQ refuses (op 9 d=false, 4006/4007/49xx) still identifies at once (reconnect-plan.ts).
      maxResumeFailures: Number.POSITIVE_INFINITY,
      resolveGatewayUrl: (context) => this.gatedUrl(ref.session, context),
      hooks: {
        onStatus: (status) => this.onSessionStatus(ref.session, status),
        onReconnect: (reason, detail, delayMs) => {
          if (!isCurrent()) return;
          if (this.rotation?.withheld) this.rotation.withheld.push([reason, detail, delayMs]);
          else app?.onReconnect?.(reason, detail, delayMs);
        },
        onResumeFailing: (failures) => {
          if (!isCurrent()) return;
          app?.onResumeFailing?.(failures);
          if (failures >= RESUME_FAILURES_BEFORE_SUCCESSOR) void this.rotate('resume_failing');
        },
        onRejectedFrame: (reason, sample) => app?.onRejectedFrame?.(reason, sample),
        onFatal: (code, meaning, hint) => app?.onFatal?.(code, meaning, hint),
        onSaveFailure: (error) => app?.onSaveFailure?.(error),
      },
    });
    ref.session = session;
    return session;
  }

  /**
   * The old session does not reconnect while a successor is on its way: its socket may have been dropped by the
   * successor's IDENTIFY (the simulator does that), and resuming or identifying then could end the successor. During
   * an age rotation every reconnect waits; during a resume-failing one only an IDENTIFY does (resumes go on).
   */
  private async gatedUrl(session: GatewaySession | undefined, context: GatewayUrlContext): Promise<string> {
    const rotation = this.rotation;
    const held =
      rotation &&
      session === this.current &&
      (rotation.withheld || session.snapshot().sessionId === undefined);
    if (held && !(await rotation.released)) return '';
    if (this.stopped) return '';
    // A successor is in no hurry (the current session still serves), so it re-discovers: a rotation then also
    // follows a gateway that moved, which the current session's reconnects, using the last known URL, would not.
    const successor = session !== undefined && session !== this.current;
    return this.options.resolveGatewayUrl(successor ? { rediscover: true } : context);
  }

  private onSessionStatus(session: GatewaySession | undefined, status: ShardStatus): void {
    const rotation = this.rotation;
    if (session === this.current) {
      if (status === 'ready' || (status === 'resumed' && !this.schedule.knowsSessionStart)) {
        this.schedule.sessionStarted();
      }
      if (rotation && !rotation.withheld && isHealthy(status)) void this.settle(rotation, 'old_recovered');
      if (!rotation?.withheld) this.report(status);
    } else if (rotation && session === rotation.successor) {
      if (isHealthy(status)) void this.settle(rotation, 'rotated');
      else if (status === 'waiting' || status === 'fatal' || status === 'stopped') {
        void this.settle(rotation, 'failed', `successor closed before READY (${status})`);
      }
    }
  }

  private report(status: ShardStatus): void {
    if (status === this.reported) return;
    this.reported = status;
    this.options.hooks?.onStatus?.(status);
  }

  private async rotate(reason: RotationReason): Promise<void> {
    if (this.stopped || this.rotation || this.preparing) return;
    if (reason === 'resume_failing' && !this.schedule.resumeRotationAllowed) return;
    this.preparing = true;
    try {
      // A successor for failing resumes replaces the IDENTIFY the session would make itself: no budget check.
      if (reason === 'age') {
        const verdict = await this.options.checkBudget(this.options.shardId);
        if (!verdict.ok) {
          this.options.hooks?.onRotation?.(
            reason,
            verdict.why === 'budget_low' ? 'skipped_budget' : 'skipped_discovery',
          );
          this.schedule.retryIn(verdict.retryInMs);
          return;
        }
      }
      await this.options.pace(() => Promise.resolve(this.openSuccessor(reason)));
    } catch (err) {
      this.log.warn(
        { reason, err: describeError(err) },
        'could not open a successor session; retrying later',
      );
      if (reason === 'age') this.schedule.retryIn(this.schedule.nextRetryDelay());
    } finally {
      this.preparing = false;
    }
  }

  private openSuccessor(reason: RotationReason): void {
    if (this.stopped || this.rotation) return;
    if (reason === 'age' && !isHealthy(this.current.currentStatus)) {
      // Not a rotation moment: the session is reconnecting. Holding its status back now would hide a real gap.
      this.log.debug({ status: this.current.currentStatus }, 'session not healthy; rotation postponed');
      this.schedule.retryIn(this.schedule.nextRetryDelay());
      return;
    }
    const view = this.handover.view();
    const successor = this.spawn(true, view);
    let release!: (goOn: boolean) => void;
    const released = new Promise<boolean>((resolve) => (release = resolve));
    const rotation: Rotation = {
      reason,
      successor,
      view,
      withheld: reason === 'age' ? [] : undefined,
      release,
      released,
      timer: setTimeout(() => {
        void this.settle(
          rotation,
          'failed',
          `successor not READY within ${this.options.handshakeTimeoutMs} ms`,
        );
      }, this.options.handshakeTimeoutMs),
    };
    this.rotation = rotation;
    this.log.info(
      { reason, ageMs: this.schedule.sessionAgeMs, sessionId: this.current.snapshot().sessionId },
      'opening a successor gateway session beside the current one',
    );
    void successor.start().catch((err: unknown) => void this.settle(rotation, 'failed', String(err)));
  }

  private async settle(
    rotation: Rotation,
    result: 'rotated' | 'failed' | 'old_recovered',
    detail = '',
  ): Promise<void> {
    if (this.rotation !== rotation) return;
    this.rotation = undefined;
    clearTimeout(rotation.timer);
    const { reason } = rotation;
    if (result === 'rotated') {
      const old = this.current;
      const oldSessionId = old.snapshot().sessionId;
      this.current = rotation.successor;
      this.schedule.sessionStarted();
      this.report(this.current.currentStatus);
      // Dispatches the old session already received become durable; it writes no session state any more.
      await old.stop({ persist: false });
      await this.handover.promote(rotation.view);
      rotation.release(false);
      this.schedule.succeeded();
      this.log.info(
        { reason, oldSessionId, sessionId: this.current.snapshot().sessionId },
        'gateway session rotated: the successor is current and the old session is closed',
      );
    } else {
      await this.dropSuccessor(rotation);
      rotation.release(true);
      if (rotation.withheld) {
        for (const [why, text, delayMs] of rotation.withheld)
          this.options.hooks?.onReconnect?.(why, text, delayMs);
        this.report(this.current.currentStatus);
      }
      if (result === 'failed') this.afterFailure(reason, detail);
      else this.log.info({ reason }, 'the old gateway session resumed first; closed its successor');
    }
    this.options.hooks?.onRotation?.(reason, result);
  }

  private afterFailure(reason: RotationReason, detail: string): void {
    const { retryInMs, attempt } = this.schedule.failed(reason);
    this.log.warn(
      { reason, detail, retryInMs, attempt },
      'gateway session rotation failed; the current session goes on and the rotation is tried again later',
    );
  }

  /** Stops a successor that did not take over; its held writes are dropped first, so its stop cannot wait on them. */
  private async dropSuccessor(rotation: Rotation): Promise<void> {
    clearTimeout(rotation.timer);
    await this.handover.revoke(rotation.view);
    await rotation.successor.stop({ persist: false });
  }
}
