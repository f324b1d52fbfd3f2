import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { demoLogDestination } from '../../src/demo/log-filter.js';
import { createLogger } from '../../src/log.js';

describe("the demo's log destination", () => {
  it("drops only the deliberate dead letter's error line and passes every other line", async () => {
    const out = new PassThrough();
    const written: string[] = [];
    out.on('data', (chunk: Buffer) => written.push(chunk.toString()));
    const logger = createLogger({ level: 'warn', destination: demoLogDestination(out) });
    const delivery = logger.child({ component: 'delivery' });
    delivery.error(
      { eventId: 'SUBSCRIBE_MESSAGE_STATUS:1', targetId: 'demo-receiver', status: 422 },
      'delivery rejected; dead-lettered: HTTP 422',
    );
    delivery.error(
      { eventId: 'GROUP_ADD_ROBOT:1', targetId: 'demo-receiver', status: 422 },
      'delivery rejected; dead-lettered: HTTP 422',
    );
    delivery.error(
      { eventId: 'SUBSCRIBE_MESSAGE_STATUS:2', targetId: 'demo-receiver', status: 500 },
      'delivery failed',
    );
    logger.warn('redis slow');
    await new Promise((resolve) => setImmediate(resolve));
    const messages = written
      .join('')
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as object);
    expect(messages).toEqual([
      expect.objectContaining({ eventId: 'GROUP_ADD_ROBOT:1' }),
      expect.objectContaining({ eventId: 'SUBSCRIBE_MESSAGE_STATUS:2' }),
      expect.objectContaining({ msg: 'redis slow' }),
    ]);
  });
});
