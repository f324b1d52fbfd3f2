import { BridgeError, describeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { QqOpenApi } from '../qq/openapi.js';
import type { LeasedShard } from './leased-shard.js';

/**
 * The gateway URL every session of this process connects to: found at start, and discovered again only when a
 * session asks (`rediscover`, after a failed attempt or for a rotation's successor), so a moved gateway is
 * followed while a reconnect after a healthy session (QQ cycling it) skips the HTTP round trip, which would only be
 * dark time.
 */
export class GatewayUrlSource {
  private url = '';

  constructor(
    private readonly api: Pick<QqOpenApi, 'gateway'>,
    private readonly logger: Logger,
  ) {}

  /** The URL discovered at start. */
  remember(url: string): void {
    this.url = url;
  }

  /** The last known URL, or with `rediscover` a newly discovered one (the last known if discovery fails). */
  async resolve(rediscover: boolean): Promise<string> {
    if (!rediscover && this.url !== '') return this.url;
    try {
      this.url = await this.api.gateway();
    } catch (err) {
      this.logger.warn({ err: describeError(err) }, 'gateway discovery failed; using the last known URL');
    }
    return this.url;
  }

  /** A replica that lost a shard's lease must not connect (and RESUME) it again: that is the new holder's socket. */
  async resolveLeased(shard: LeasedShard, rediscover: boolean): Promise<string> {
    if (!(await shard.confirm())) {
      throw new BridgeError('BRIDGE_ERR_REDIS', `lease lost: not reconnecting shard ${shard.shardId}`);
    }
    return this.resolve(rediscover);
  }
}
