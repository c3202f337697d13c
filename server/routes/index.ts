import type { ServerDeps } from '../deps.js';
import type { RouteSpec } from '../http/route.js';
import { merchantRoutes } from './merchants.js';

/** Every public API route; the router and the OpenAPI document are both built from this list. */
export function allRoutes(deps: ServerDeps): RouteSpec[] {
  return [...merchantRoutes(deps)];
}
