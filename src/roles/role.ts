/**
 * What one process runs (`run --role`, docs/design.md §1). A leaf module: the CLI, the composition root and the
 * readiness report all name the role, so it imports nothing.
 */
export type Role = 'all' | 'gateway' | 'worker';

/** The gateway role holds the shards (or the callback route) and the journal. */
export function runsGateway(role: Role): boolean {
  return role === 'all' || role === 'gateway';
}

/** The worker role delivers to targets and sends to QQ. */
export function runsWorkers(role: Role): boolean {
  return role === 'all' || role === 'worker';
}
