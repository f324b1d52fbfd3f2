/**
 * The send API's routes (docs/design.md §6): one table that the router matches on and that docs/openapi.yaml is
 * checked against, so neither can list a route the other lacks.
 */
import { QQ_METHODS, type QqMethod } from './qq-caller.js';
import type { PathSegment } from './request-path.js';

/** What a route does; the handlers are chosen by it. */
export type ApiRouteName = 'send-group' | 'send-user' | 'status' | 'recall-group' | 'recall-user' | 'openapi';

/** One route: the methods it answers and its path template (OpenAPI syntax, `{name}` is one path segment). */
export interface ApiRoute {
  readonly name: ApiRouteName;
  readonly methods: readonly QqMethod[];
  readonly template: string;
  /** The last parameter takes every remaining segment (the pass-through's QQ path), not just one. */
  readonly rest?: true;
}

/** The routes, in matching order. */
export const API_ROUTES: readonly ApiRoute[] = [
  { name: 'send-group', methods: ['POST'], template: '/v1/groups/{group_openid}/messages' },
  { name: 'send-user', methods: ['POST'], template: '/v1/users/{openid}/messages' },
  { name: 'status', methods: ['GET'], template: '/v1/messages/{id}' },
  { name: 'recall-group', methods: ['DELETE'], template: '/v1/groups/{group_openid}/messages/{message_id}' },
  { name: 'recall-user', methods: ['DELETE'], template: '/v1/users/{openid}/messages/{message_id}' },
  { name: 'openapi', methods: QQ_METHODS, template: '/v1/openapi/{path}', rest: true },
];

/** A matched route and its parameters, each the segment (or for a rest parameter, the segments) it matched. */
export interface RouteMatch {
  readonly route: ApiRoute;
  readonly params: Readonly<Record<string, PathSegment>>;
  /** The rest parameter's segments; empty for routes without one. */
  readonly rest: readonly PathSegment[];
}

/** Whether the server hands `path` (normalized) to the send API. */

/** The route whose template matches `segments` (the path below the root), whatever the method; else undefined. */
export function matchApiRoute(segments: readonly PathSegment[]): RouteMatch | undefined {
  for (const route of API_ROUTES) {
    const match = matchTemplate(route, segments);
    if (match) return match;
  }
  return undefined;
}

function matchTemplate(route: ApiRoute, segments: readonly PathSegment[]): RouteMatch | undefined {
  const parts = route.template.split('/').slice(1);
  const fixed = route.rest ? parts.length - 1 : parts.length;
  if (route.rest ? segments.length <= fixed : segments.length !== fixed) return undefined;
  const params: Record<string, PathSegment> = {};
  for (const [index, part] of parts.slice(0, fixed).entries()) {
    const segment = segments[index]!;
    const name = /^\{(.+)\}$/.exec(part)?.[1];
    if (name !== undefined) params[name] = segment;
    else if (segment.raw !== part) return undefined;
  }
  return { route, params, rest: route.rest ? segments.slice(fixed) : [] };
}
