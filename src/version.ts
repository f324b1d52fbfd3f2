import { readFileSync } from 'node:fs';

/** The package version, read once from package.json (one directory above both src/ and dist/). */
export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** `user-agent` of every HTTP request the bridge makes: webhook deliveries and calls to QQ. */
export const USER_AGENT = `qq-webhook-bridge/${VERSION}`;
