import type { BridgeConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { AccessTokenManager } from '../qq/access-token.js';
import type { Part } from './supervisor.js';

/**
 * One access token per process, shared by the gateway, the outbound worker and the send API; created by the first
 * part that needs one (a webhook-mode gateway without the send API never does) and fetched on first use.
 */
export interface SharedAccessTokens {
  get(): AccessTokenManager;
  /** Ends the refresh and any wait for a rate-limit pause; started first, so it stops after every user. */
  readonly part: Part;
}

export function sharedAccessTokens(config: BridgeConfig, logger: Logger): SharedAccessTokens {
  let tokens: AccessTokenManager | undefined;
  return {
    get() {
      tokens ??= new AccessTokenManager({
        tokenUrl: config.qq.tokenUrl,
        appId: config.qq.appId,
        clientSecret: config.qq.clientSecret,
        logger: logger.child({ component: 'token' }),
      });
      return tokens;
    },
    part: {
      name: 'access-token',
      stop() {
        tokens?.stop();
        return Promise.resolve();
      },
    },
  };
}
