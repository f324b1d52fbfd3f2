/** The read-only routes the bridge's HTTP server answers itself (docs/design.md §6). */
export const SERVER_READ_PATHS = ['/healthz', '/readyz', '/metrics'] as const;

/** One of {@link SERVER_READ_PATHS}. */
export type ServerReadPath = (typeof SERVER_READ_PATHS)[number];

/** The admin area: this path and every path below it belong to the server. */
export const ADMIN_PATH = '/admin';

/** The send API: this path and every path below it belong to the server, whether the API is on or not. */
export const API_PATH = '/v1';

/** The server's own paths as a person reads them: `/healthz, /readyz, /metrics, /admin/*, /v1/*`. */
export const RESERVED_SERVER_PATHS_TEXT = `${SERVER_READ_PATHS.join(', ')}, ${ADMIN_PATH}/*, ${API_PATH}/*`;

/** Whether `path` (normalized) is one of {@link SERVER_READ_PATHS}. */
export function isServerReadPath(path: string): path is ServerReadPath {
  return (SERVER_READ_PATHS as readonly string[]).includes(path);
}

/** Whether `path` (normalized) is `/admin` or below it. */
export function isAdminPath(path: string): boolean {
  return path === ADMIN_PATH || path.startsWith(`${ADMIN_PATH}/`);
}

/** Whether `path` is `/v1` or below it: the send API's. */
export function isApiPath(path: string): boolean {
  return path === API_PATH || path.startsWith(`${API_PATH}/`);
}

/**
 * Whether the server answers `path` (normalized) itself, so no other route, such as the QQ callback, may take it.
 * `/v1` counts even while the send API is off, so turning it on later never silently loses the callback route.
 */
export function isReservedServerPath(path: string): boolean {
  return isServerReadPath(path) || isAdminPath(path) || isApiPath(path);
}
