import type { CoreContext } from '../core/context/index.js';
import type { ServerConfig } from './config.js';

/** What route factories and workers are built from. */
export interface ServerDeps {
  ctx: CoreContext;
  config: ServerConfig;
}
