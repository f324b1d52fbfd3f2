/**
 * What the bridge says about its own memory on `GET /metrics` (prom-client's process metrics): with /proc's RSS
 * this splits the footprint into V8 heap, off-heap buffers and the rest (code, native libraries, allocator slack).
 */
import { readFileSync } from 'node:fs';
import { request } from 'undici';

export interface BridgeMemory {
  heapTotalMB: number;
  heapUsedMB: number;
  externalMB: number;
  /** The young generation's allocated size (`new` space): it grows under allocation pressure and stays. */
  newSpaceMB: number;
}

const MB = 1024 * 1024;

/** The metrics URL from the bridge's "health and metrics server listening" log line, once it is logged. */
export function metricsUrlFromLog(logPath: string): string | undefined {
  for (const line of readFileSync(logPath, 'utf8').split('\n')) {
    if (!line.includes('"health and metrics server listening"')) continue;
    const { address } = JSON.parse(line) as { address?: { host: string; port: number } };
    if (address) return `http://${address.host}:${address.port}/metrics`;
  }
  return undefined;
}

function gauge(text: string, name: string): number {
  const match = new RegExp(`^${name} ([0-9.e+]+)$`, 'm').exec(text);
  return match ? Math.round((Number(match[1]) / MB) * 10) / 10 : NaN;
}

/** One scrape; undefined when the bridge does not answer within 2 s (the bench never fails over it). */
export async function scrapeMemory(url: string): Promise<BridgeMemory | undefined> {
  try {
    const response = await request(url, { signal: AbortSignal.timeout(2_000) });
    const text = await response.body.text();
    return {
      heapTotalMB: gauge(text, 'nodejs_heap_size_total_bytes'),
      heapUsedMB: gauge(text, 'nodejs_heap_size_used_bytes'),
      externalMB: gauge(text, 'nodejs_external_memory_bytes'),
      newSpaceMB: gauge(text, 'nodejs_heap_space_size_total_bytes\\{space="new"\\}'),
    };
  } catch {
    return undefined;
  }
}
