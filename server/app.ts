import express, { type Express } from 'express';
import { buildOpenApiDocument } from './http/openapi.js';
import { errorHandler, notFoundHandler } from './http/errors.js';
import { buildRouter } from './http/route.js';
import type { ServerDeps } from './deps.js';
import { allRoutes } from './routes/index.js';

export const API_VERSION = '0.1.0';

export function createApp(deps: ServerDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', deps.config.trustProxy);
  app.set('etag', false);
  app.use((_req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Cache-Control', 'no-store');
    next();
  });

  const routes = allRoutes(deps);
  const openapi = JSON.stringify(buildOpenApiDocument(routes, { version: API_VERSION }));
  app.get('/api/openapi', (_req, res) => {
    res.type('application/json').send(openapi);
  });
  app.get('/api/health', (_req, res) => {
    res.json({ ok: true });
  });
  app.use('/api/v1', buildRouter(deps.ctx, routes));
  // The merchants API document's paths (/v1/auth/login, /v1/merchants, …), same handlers.
  app.use('/v1', buildRouter(deps.ctx, routes.filter((r) => r.legacyV1)));
  app.use(notFoundHandler);
  app.use(errorHandler);
  return app;
}
