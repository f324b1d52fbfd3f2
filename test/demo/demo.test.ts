import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { runDemo } from '../../src/commands/demo.js';
import { EVENT_CATALOG } from '../../src/events/catalog.js';
import { keysUnder, REDIS_URL } from '../helpers/redis.js';

describe('qq-webhook-bridge demo --once', () => {
  it('delivers and verifies every event type, dead-letters the one the receiver refuses, prints a line each, shows the reply reaching QQ, and leaves nothing behind', async () => {
    const lines: string[] = [];
    const code = await runDemo({
      once: true,
      timeoutMs: 20_000,
      redisUrl: REDIS_URL,
      print: (l) => lines.push(l),
    });
    const emitted = Object.keys(EVENT_CATALOG).length + 1;
    expect(code, lines.join('\n')).toBe(0);
    const events = lines.filter((line) => line.startsWith('✓ '));
    expect(events).toHaveLength(emitted - 1);
    const types = events.map((line) => line.split(/\s+/)[1]);
    expect(new Set(types)).toEqual(new Set(Object.values(EVENT_CATALOG).map((e) => e.type)));
    // Read back from the dead-letter queue by the demo, with the status and attempt count it recorded.
    const deadLetters = lines.filter((line) => line.startsWith('✗ '));
    expect(deadLetters).toEqual([
      expect.stringMatching(
        /^✗ qq\.unknown {13}SUBSCRIBE_MESSAGE_STATUS:[0-9a-f]{8}… dead-lettered \(HTTP 422 after 1 attempt\)$/,
      ),
    ]);
    const replies = lines.filter((line) => line.startsWith('↩ '));
    expect(replies).toHaveLength(1);
    expect(replies[0]).toMatch(
      /^↩ reply at QQ +ROBOT1\.0_\S+… +group=C9F7… msg_seq=1 "echo: 今天天气怎么样"$/,
    );
    expect(lines.indexOf(replies[0]!)).toBeGreaterThan(
      lines.findIndex((l) => l.startsWith('✓ group.message.at ')),
    );
    expect(lines).toContain(
      `${emitted - 1} delivered, 1 dead-lettered, ${emitted} verified, 1 reply at QQ (${emitted} events emitted)`,
    );

    const prefix = /keys under (\{qqwb-demo-[0-9a-f]+\})/.exec(lines.join('\n'))?.[1];
    if (!prefix) throw new Error(`the demo did not say which key prefix it used:\n${lines.join('\n')}`);
    const redis = new Redis(REDIS_URL);
    try {
      expect(await keysUnder(redis, prefix)).toEqual([]);
    } finally {
      redis.disconnect();
    }
  });
});
