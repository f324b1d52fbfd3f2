import { stringify } from 'yaml';
import { parseConfig } from '../config/index.js';
import type { BridgeConfig } from '../config/types.js';

/** What the demo's config is built from. */
export interface DemoConfigInput {
  readonly simulatorOrigin: string;
  readonly appId: string;
  readonly clientSecret: string;
  readonly redisUrl: string;
  /** A hash-tagged prefix of this run alone, removed at the end. */
  readonly prefix: string;
  readonly journalDir: string;
  readonly receiverUrl: string;
  readonly secret: string;
  readonly adminToken: string;
}

/** The demo's one target: the sample receiver. */
export const DEMO_TARGET_ID = 'demo-receiver';

/** `${` would be read as a variable by the config loader; `$${` is its literal form. */
function literal(value: string): string {
  return value.replaceAll('${', '$${');
}

/**
 * The demo's configuration, written as the YAML document a user would write and put through the same loader as
 * `run`, so the demo exercises real defaults and validation. Every intent the simulator grants is requested, so
 * every event type reaches the receiver; the target is on loopback, hence `allow_private`.
 */
export function demoConfig(input: DemoConfigInput): BridgeConfig {
  const document = {
    qq: {
      app_id: input.appId,
      client_secret: literal(input.clientSecret),
      token_url: `${input.simulatorOrigin}/app/getAppAccessToken`,
      api_base: input.simulatorOrigin,
      intents: ['GROUP_AND_C2C_EVENT', 'GROUP_MEMBERS', 'INTERACTION'],
    },
    redis: { url: literal(input.redisUrl), prefix: input.prefix },
    server: { listen: '127.0.0.1:0', admin_token: literal(input.adminToken) },
    journal: { dir: literal(input.journalDir) },
    log: { level: 'warn' },
    targets: [
      {
        id: DEMO_TARGET_ID,
        url: literal(input.receiverUrl),
        secret: literal(input.secret),
        events: ['*'],
        timeout: '5s',
        retry: { attempts: 5, base: '200ms', max: '2s' },
        allow_private: true,
      },
    ],
  };
  return parseConfig(stringify(document), '<demo>', {});
}
