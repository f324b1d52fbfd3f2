import { invalid } from './api-error.js';
import type { RouteMatch } from './routes.js';

/** The longest openid accepted; QQ's are 32 hex digits. */
export const MAX_OPENID_LENGTH = 128;

/** The longest QQ message id accepted in a recall. */
export const MAX_MESSAGE_ID_LENGTH = 256;

/** The decoded value of path parameter `name`; throws the 400 naming it when it is empty, malformed or too long. */
export function pathParam(match: RouteMatch, name: string, maxLength: number): string {
  const segment = match.params[name];
  if (segment?.value === undefined) {
    throw invalid(name, `the path segment ${name} ${segment?.problem ?? 'is missing'}; put the id there`);
  }
  if (segment.value.length > maxLength) {
    throw invalid(
      name,
      `the path segment ${name} is longer than ${maxLength} characters; is it the right id?`,
    );
  }
  return segment.value;
}
