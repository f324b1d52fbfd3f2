import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isBridgeError } from '../../src/errors.js';
import type { OutboundDeadLetterQueue } from '../../src/outbound/dead-letters.js';
import { openOutboundQueue } from '../../src/outbound/send-queue.js';
import { waitFor } from '../delivery/fixtures.js';
import {
  groupMessage,
  startOutboundDeadLetters,
  type OutboundDeadLetters,
} from '../outbound/dead-letter-fixtures.js';
import {
  backdateDeadLetter,
  backdateFailedJob,
  DAY_MS,
  startDeadLetterWorld,
  type DeadLetterWorld,
} from '../queue/dead-letter-fixtures.js';
import { runDlq, type DlqRun } from './dlq-fixtures.js';

const EXPIRED = 'refuse QQ_40034005: passive reply expired' as const;
const SERVER_ERROR = 'retry HTTP_500: internal error' as const;

let world: DeadLetterWorld;
let outbound: OutboundDeadLetters;
/** A handle of the CLI's own opening, to check what it changed. */
let queue: OutboundDeadLetterQueue;

beforeEach(async () => {
  world = await startDeadLetterWorld();
  outbound = startOutboundDeadLetters({
    prefix: world.prefix,
    appId: world.config.qq.appId,
    connection: world.admin,
  });
  queue = openOutboundQueue(world.config.qq.appId, world.prefix, world.admin);
});

afterEach(async () => {
  await queue.close();
  await outbound.close();
  await world.close();
});

/** Runs `qq-webhook-bridge dlq <args> --config <world's file>` in this process. */
function dlq(args: string[], options: { interactive?: boolean; answer?: string } = {}): Promise<DlqRun> {
  return runDlq(world.configFile, args, options);
}

async function failedIds(): Promise<string[]> {
  return (await queue.getFailed(0, -1)).map((job) => job.id ?? '').sort();
}

/**
 * Three outbound dead letters: a passive reply QQ refused as expired, an API send that ran out of its two
 * attempts on HTTP 500, and a button-click acknowledgement QQ refused.
 */
async function threeDeadLetters(): Promise<{ reply: string; send: string; ack: string }> {
  const reply = await outbound.deadLetter(
    groupMessage('reply-1', { msgId: 'M1', deadline: Date.now() + 300_000, source: 'reply' }),
    [EXPIRED, 'send'],
  );
  const send = await outbound.deadLetter(groupMessage('send-1'), [SERVER_ERROR, SERVER_ERROR, 'send']);
  const ack = await outbound.deadLetter({ interactionId: 'INTERACTION_1', code: 0, source: 'reply' }, [
    'refuse QQ_40034128: interaction expired',
  ]);
  return { reply, send, ack };
}

describe('dlq --outbound or --target', () => {
  it.each([
    [
      ['list'],
      "say whose dead letters: --target ID (a target's failed deliveries) or --outbound (failed replies and sends to QQ)",
    ],
    [
      ['purge', '--all', '--yes', '--outbound', '--target', 'backend'],
      "give either --target ID (a target's failed deliveries) or --outbound (failed replies and sends to QQ), not both",
    ],
    [
      ['replay', '--all', '--target', 'backend', '--outbound'],
      "give either --target ID (a target's failed deliveries) or --outbound (failed replies and sends to QQ), not both",
    ],
    [
      ['show', '--id', 'ob_x'],
      "say whose dead letters: --target ID (a target's failed deliveries) or --outbound (failed replies and sends to QQ)",
    ],
  ])('dlq %j is a usage error naming both, and changes nothing', async (args, message) => {
    await world.deadLetter('GROUP_ADD_ROBOT:a');
    const { send } = await threeDeadLetters();
    const run = await dlq(args);
    expect(isBridgeError(run.error, 'BRIDGE_ERR_USAGE')).toBe(true);
    expect((run.error as Error).message).toBe(message);
    expect(run).toMatchObject({ stdout: '', exitCode: undefined });
    expect(await outbound.stateOf(send)).toBe('failed');
    expect(await world.stateOf('GROUP_ADD_ROBOT:a')).toBe('failed');
  });
});

describe('dlq list and show --outbound', () => {
  it("lists the bot's failed replies and sends, not the targets' dead letters", async () => {
    await world.deadLetter('GROUP_ADD_ROBOT:a');
    const empty = await dlq(['list', '--outbound']);
    expect(empty).toMatchObject({ stdout: 'no dead letters for the outbound queue\n', exitCode: 0 });

    const { reply, send, ack } = await threeDeadLetters();
    const text = await dlq(['list', '--outbound']);
    const lines = text.stdout.trimEnd().split('\n');
    const iso = String.raw`\d{4}-\d\d-\d\dT[\d:.]+Z`;
    // Newest first.
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(
      new RegExp(
        `^${iso} {2}${ack} {2}reply {2}interaction/INTERACTION_1 {2}attempts=1 {2}QQ_40034128: interaction expired$`,
      ),
    );
    expect(lines[1]).toMatch(
      new RegExp(
        `^${iso} {2}${send} {2}api {2}group/GROUP_OPENID_1 {2}attempts=2 {2}HTTP_500: internal error$`,
      ),
    );
    expect(lines[2]).toMatch(
      new RegExp(
        `^${iso} {2}${reply} {2}reply {2}group/GROUP_OPENID_1 {2}attempts=1 {2}QQ_40034005: passive reply expired$`,
      ),
    );

    const json = await dlq(['list', '--outbound', '--json', '--limit', '2']);
    expect(JSON.parse(json.stdout)).toEqual([
      {
        id: ack,
        source: 'reply',
        kind: 'interaction',
        interactionId: 'INTERACTION_1',
        error: { code: 'QQ_40034128', message: 'interaction expired' },
        attempts: 1,
        failedAt: expect.any(String),
      },
      {
        id: send,
        source: 'api',
        kind: 'message',
        scene: 'group',
        openid: 'GROUP_OPENID_1',
        error: { code: 'HTTP_500', message: 'internal error' },
        attempts: 2,
        failedAt: expect.any(String),
      },
    ]);
  });

  it('shows the request sent to QQ, the failed reason and every attempt', async () => {
    const { reply, send, ack } = await threeDeadLetters();
    const shown = await dlq(['show', '--outbound', '--id', reply]);
    expect(shown.exitCode).toBe(0);
    expect(JSON.parse(shown.stdout)).toEqual({
      id: reply,
      source: 'reply',
      kind: 'message',
      scene: 'group',
      openid: 'GROUP_OPENID_1',
      error: { code: 'QQ_40034005', message: 'passive reply expired' },
      failedAt: expect.any(String),
      request: {
        method: 'POST',
        path: '/v2/groups/GROUP_OPENID_1/messages',
        body: { content: 'reply-1', msg_type: 0, msg_id: 'M1', msg_seq: 1 },
      },
      deadline: expect.any(String),
      inbound: { eventId: 'GROUP_AT_MESSAGE_CREATE:M1' },
      attempts: [
        expect.objectContaining({
          attempt: 1,
          outcome: 'failed',
          errorCode: 'QQ_40034005',
          error: 'QQ_40034005: passive reply expired',
        }),
      ],
      failedReason: 'QQ_40034005: passive reply expired',
    });

    const exhausted = JSON.parse((await dlq(['show', '--outbound', '--id', send])).stdout) as {
      attempts: { attempt: number; outcome: string }[];
    };
    expect(exhausted.attempts.map((a) => [a.attempt, a.outcome])).toEqual([
      [1, 'retry'],
      [2, 'retry'],
    ]);

    const acknowledgement = JSON.parse((await dlq(['show', '--outbound', '--id', ack])).stdout) as object;
    expect(acknowledgement).toMatchObject({
      request: { method: 'PUT', path: '/interactions/INTERACTION_1', body: { code: 0 } },
    });

    const missing = await dlq(['show', '--outbound', '--id', 'ob_nope']);
    expect(isBridgeError(missing.error, 'BRIDGE_ERR_NOT_FOUND')).toBe(true);
    expect((missing.error as Error).message).toBe(
      'no dead letter ob_nope for the outbound queue (see dlq list --outbound)',
    );
  });
});

describe('dlq replay --outbound', () => {
  it('sends one again with the same id, and leaves the others and the targets alone', async () => {
    await world.deadLetter('GROUP_ADD_ROBOT:a');
    const { reply, send, ack } = await threeDeadLetters();
    const run = await dlq(['replay', '--outbound', '--id', send]);
    expect(run).toMatchObject({ stdout: 'replayed 1 for the outbound queue\n', stderr: '', exitCode: 0 });
    await waitFor(async () => (await outbound.stateOf(send)) === 'completed');
    const job = await queue.getJob(send);
    expect(job?.returnvalue).toMatchObject({ qqId: 'qq-2', attempt: 1 });
    expect(await failedIds()).toEqual([reply, ack].sort());
    expect(await world.stateOf('GROUP_ADD_ROBOT:a')).toBe('failed');

    const again = await dlq(['replay', '--outbound', '--id', send]);
    expect(isBridgeError(again.error, 'BRIDGE_ERR_NOT_FOUND')).toBe(true);
    expect((again.error as Error).message).toBe(`no dead letter ${send} for the outbound queue`);
  });

  it('replays a passive reply past its window as asked, saying it will fail again with BRIDGE_ERR_REPLY_EXPIRED', async () => {
    const deadline = Date.now() - 60_000;
    const late = await outbound.deadLetter(
      groupMessage('late-1', { msgId: 'M2', deadline, source: 'reply' }),
      [EXPIRED],
    );
    const { reply, send, ack } = await threeDeadLetters();

    const run = await dlq(['replay', '--outbound', '--all']);
    expect(run.stdout).toBe('replayed 4 for the outbound queue\n');
    expect(run.stderr).toBe(
      `warning: ${late} is a passive reply whose window closed at ${new Date(deadline).toISOString()}; ` +
        'replayed as asked, it will fail again with BRIDGE_ERR_REPLY_EXPIRED (send an active message through ' +
        'the API instead)\n',
    );
    // The reply still in its window and the send go through; the late reply and the acknowledgement fail again.
    await waitFor(
      async () =>
        (await outbound.stateOf(reply)) === 'completed' &&
        (await outbound.stateOf(send)) === 'completed' &&
        (await queue.getFailedCount()) === 2,
    );
    expect(await failedIds()).toEqual([late, ack].sort());
    const logs = await queue.getJobLogs(late);
    expect(logs.count).toBe(2);
  });
});

describe('dlq purge --outbound', () => {
  /** Outbound dead letters that failed 30 days, 8 days and 1 day ago, and now; and one delivery dead letter. */
  async function aged(): Promise<Record<'d30' | 'd8' | 'd1' | 'now', string>> {
    await world.deadLetter('GROUP_ADD_ROBOT:old');
    await backdateDeadLetter(world, 'GROUP_ADD_ROBOT:old', Date.now() - 30 * DAY_MS);
    const ids = {
      d30: await outbound.deadLetter(groupMessage('d30'), [EXPIRED]),
      d8: await outbound.deadLetter(groupMessage('d8'), [EXPIRED]),
      d1: await outbound.deadLetter(groupMessage('d1'), [EXPIRED]),
      now: await outbound.deadLetter(groupMessage('now'), [EXPIRED]),
    };
    const now = Date.now();
    await backdateFailedJob(world.admin, queue, ids.d30, now - 30 * DAY_MS);
    await backdateFailedJob(world.admin, queue, ids.d8, now - 8 * DAY_MS);
    await backdateFailedJob(world.admin, queue, ids.d1, now - DAY_MS);
    return ids;
  }

  it('--older-than 7d --yes deletes the outbound dead letters that failed more than 7 days ago', async () => {
    const ids = await aged();
    const run = await dlq(['purge', '--outbound', '--older-than', '7d', '--yes']);
    expect(run).toMatchObject({ stdout: 'purged 2 for the outbound queue\n', exitCode: 0, error: undefined });
    expect(await failedIds()).toEqual([ids.d1, ids.now].sort());
    expect(await outbound.stateOf(ids.d30)).toBe('unknown');
    // A target's dead letter as old is not the outbound queue's.
    expect(await world.stateOf('GROUP_ADD_ROBOT:old')).toBe('failed');
  });

  it('asks on a terminal, naming how many go, refuses without --yes elsewhere, and purges one by id', async () => {
    const ids = await aged();
    const unconfirmed = await dlq(['purge', '--outbound', '--all']);
    expect(isBridgeError(unconfirmed.error, 'BRIDGE_ERR_USAGE')).toBe(true);
    expect((unconfirmed.error as Error).message).toBe(
      'dlq purge deletes for good and asks first, but stdin is not a terminal; add --yes to purge without asking',
    );

    const declined = await dlq(['purge', '--outbound', '--older-than', '7d'], {
      interactive: true,
      answer: 'n',
    });
    expect(declined.stderr).toBe('delete 2 dead letters of the outbound queue older than 7d? [y/N] ');
    expect(isBridgeError(declined.error, 'BRIDGE_ERR_ABORTED')).toBe(true);
    expect(await failedIds()).toHaveLength(4);

    const one = await dlq(['purge', '--outbound', '--id', ids.d8], { interactive: true, answer: 'yes' });
    expect(one.stderr).toBe(`delete dead letter ${ids.d8} of the outbound queue? [y/N] `);
    expect(one.stdout).toBe('purged 1 for the outbound queue\n');

    const all = await dlq(['purge', '--outbound', '--all'], { interactive: true, answer: 'y' });
    expect(all.stderr).toBe('delete 3 dead letters of the outbound queue? [y/N] ');
    expect(all.stdout).toBe('purged 3 for the outbound queue\n');
    expect(await failedIds()).toEqual([]);
    expect(await world.stateOf('GROUP_ADD_ROBOT:old')).toBe('failed');
  });
});
