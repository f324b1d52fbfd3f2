/**
 * The one event the demo's sample receiver refuses for good, so every demo run leaves one dead letter, with its
 * attempt log, to look at in the dashboard and the `dlq` commands. It is the event type the bridge does not know
 * (`qq.unknown`): a receiver that has no handler for a type may answer 4xx, and a 4xx other than 408, 425 and 429
 * is dead-lettered at once, without a retry (src/delivery/classify.ts).
 */

/** The envelope `type` the sample receiver refuses. */
export const REFUSED_TYPE = 'qq.unknown';

/** 422: the delivery was understood and verified, and will never be accepted. */
export const REFUSAL_STATUS = 422;

/** The answer to a refused delivery; undefined for every event the receiver accepts. */
export function sampleRefusal(
  envelope: Readonly<Record<string, unknown>>,
): { status: number; body: { error: string; detail: string } } | undefined {
  if (envelope['type'] !== REFUSED_TYPE) return undefined;
  const qqType = typeof envelope['qq_type'] === 'string' ? envelope['qq_type'] : 'an unknown type';
  return {
    status: REFUSAL_STATUS,
    body: {
      error: 'unsupported_event_type',
      detail:
        `this sample receiver has no handler for ${REFUSED_TYPE} (${qqType}) and refuses it for good, ` +
        'so the demo leaves one dead letter to inspect',
    },
  };
}
