import type { BridgeConfig } from '../config/types.js';
import { describeIntents } from '../qq/intents.js';

/** A human summary of a valid config: where it connects, which intents, and each target's filters. */
export function summarizeConfig(config: BridgeConfig): string {
  const shards =
    config.qq.shards.mode === 'auto'
      ? 'auto (from /gateway/bot)'
      : `${config.qq.shards.ids.join(', ')} of ${config.qq.shards.total}`;
  const lines = [
    `config ${config.source}: ok`,
    `  app id     ${config.qq.appId}`,
    `  intents    ${describeIntents(config.qq.intents).join(' | ')} (${config.qq.intents})`,
    `  shards     ${shards}`,
    `  api        ${config.qq.apiBase}  token ${config.qq.tokenUrl}`,
    `  redis      prefix ${config.redis.prefix}`,
    `  server     ${config.server.host}:${config.server.port}  admin ${config.server.adminToken ? 'on' : 'off'}`,
    `  targets    ${config.targets.length}`,
  ];
  const rows = config.targets.map((t) => [
    t.id,
    t.url,
    t.events.join(','),
    t.groups.length === 0 ? 'all' : `${t.groups.length} listed`,
    `${t.retry.attempts}×, ${t.timeoutMs} ms, c=${t.concurrency}`,
  ]);
  if (rows.length > 0) {
    const header = ['id', 'url', 'events', 'groups', 'retry/timeout/concurrency'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
    const format = (cells: string[]): string =>
      '    ' +
      cells
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd();
    lines.push(format(header), ...rows.map(format));
  }
  return lines.join('\n');
}
