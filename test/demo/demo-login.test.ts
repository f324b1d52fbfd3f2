import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { runDemo } from '../../src/commands/demo.js';
import { REDIS_URL } from '../helpers/redis.js';

const LINK = /^ {2}(http:\/\/127\.0\.0\.1:\d+)\/admin\/login\?code=([A-Za-z0-9_-]{43})$/;

/** Resolves with the first printed line matching `pattern`; rejects after 600 looks, 50 ms apart. */
function lineMatching(lines: string[], pattern: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let looks = 0;
    const check = (): void => {
      for (const line of lines) {
        const match = pattern.exec(line);
        if (match) return resolve(match);
      }
      if (++looks >= 600) return reject(new Error(`no line matches ${pattern}:\n${lines.join('\n')}`));
      setTimeout(check, 50);
    };
    check();
  });
}

describe('qq-webhook-bridge demo (kept running)', () => {
  it('prints a login link that opens the dashboard once', { timeout: 60_000 }, async () => {
    const lines: string[] = [];
    const demo = runDemo({
      once: false,
      timeoutMs: 20_000,
      redisUrl: REDIS_URL,
      print: (l) => lines.push(l),
    });
    try {
      const [link, origin] = await lineMatching(lines, LINK);
      const url = link.trim();
      const first = await request(url);
      await first.body.dump();
      expect(first.statusCode).toBe(303);
      const cookie = String(first.headers['set-cookie']).split(';')[0]!;
      const dashboard = await request(`${origin}/admin/queues/`, { headers: { cookie } });
      const page = await dashboard.body.text();
      expect(dashboard.statusCode, page.slice(0, 200)).toBe(200);

      const second = await request(url);
      expect(second.statusCode).toBe(401);
      expect(await second.body.text()).toContain('This login link was already used.');
      expect(second.headers['set-cookie']).toBeUndefined();
    } finally {
      // The demo waits for SIGINT or SIGTERM; its handler is what runs here, not a real signal.
      process.emit('SIGINT');
      expect(await demo).toBe(0);
    }
  });
});
