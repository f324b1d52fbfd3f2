/** The read-only routes the bridge's HTTP server answers itself (docs/design.md §6). */
export const SERVER_READ_PATHS = ['/healthz', '/readyz', '/metrics'] as const;

/** One of {@link SERVER_READ_PATHS}. */
export type ServerReadPath = (typeof SERVER_READ_PATHS)[number];

/** The admin area: this path and every path below it belong to the server. */
export const ADMIN_PATH = '/admin';

/** The server's own paths as a person reads them: `/healthz, /readyz, /metrics, /admin/*`. */
export const RESERVED_SERVER_PATHS_TEXT = `${SERVER_READ_PATHS.join(', ')}, ${ADMIN_PATH}/*`;

/** Whether `path` (normalized) is one of {@link SERVER_READ_PATHS}. */
export function isServerReadPath(path: string): path is ServerReadPath {
  return (SERVER_READ_PATHS as readonly string[]).includes(path);
}

/** Whether `path` (normalized) is `/admin` or below it. */
export function isAdminPath(path: string): boolean {
  return path === ADMIN_PATH || path.startsWith(`${ADMIN_PATH}/`);
}

/** Whether the server answers `path` (normalized) itself, so no other route, such as the QQ callback, may take it. */
export function isReservedServerPath(path: string): boolean {
  return isServerReadPath(path) || isAdminPath(path);
}
