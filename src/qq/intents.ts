/** Gateway intent bits (docs/qq-protocol.md §4). Names are the platform's own. */
export const INTENTS = {
  GUILDS: 1 << 0,
  GUILD_MEMBERS: 1 << 1,
  GUILD_MESSAGES: 1 << 9,
  GUILD_MESSAGE_REACTIONS: 1 << 10,
  DIRECT_MESSAGE: 1 << 12,
  OPEN_FORUMS_EVENT: 1 << 18,
  AUDIO_OR_LIVE_CHANNEL_MEMBER: 1 << 19,
  GROUP_MEMBERS: 1 << 24,
  GROUP_AND_C2C_EVENT: 1 << 25,
  INTERACTION: 1 << 26,
  MESSAGE_AUDIT: 1 << 27,
  FORUMS_EVENT: 1 << 28,
  AUDIO_ACTION: 1 << 29,
  PUBLIC_GUILD_MESSAGES: 1 << 30,
} as const;

export type IntentName = keyof typeof INTENTS;

/** Every bit the platform defines; anything else makes the gateway close with 4013. */
export const KNOWN_INTENT_BITS = Object.values(INTENTS).reduce((all, bit) => all | bit, 0);

export const DEFAULT_INTENTS = INTENTS.GROUP_AND_C2C_EVENT;

export function isIntentName(value: string): value is IntentName {
  return Object.hasOwn(INTENTS, value);
}

/** The names of the bits set in `mask`, unknown bits as numbers. */
export function describeIntents(mask: number): string[] {
  const names: string[] = [];
  let rest = mask;
  for (const [name, bit] of Object.entries(INTENTS)) {
    if ((mask & bit) !== 0) {
      names.push(name);
      rest &= ~bit;
    }
  }
  for (let bit = 0; bit < 31; bit++) if ((rest & (1 << bit)) !== 0) names.push(String(1 << bit));
  return names;
}
