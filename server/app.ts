import type { RequestListener } from 'node:http';
import express, { type Express } from 'express';
import { buildOpenApiDocument } from './http/openapi.js';
import { errorHandler, notFoundHandler } from './http/errors.js';
import { responseHeaders } from './http/headers.js';
import { healthRouter } from './http/health.js';
import { createCheckoutPageRouter } from './checkout-page/index.js';
import { type RouteSpec, buildRouter, leanDispatcher, methodNotAllowed, rejectMalformedPath } from './http/route.js';
import type { ServerDeps } from './deps.js';
import { allRoutes } from './routes/index.js';
import { webhookEventDocs } from './routes/webhook-endpoints.js';
import { channelCallbackRouter } from './routes/channel-callbacks.js';
import { CHANNEL_CALLBACK_PATHS } from './payments/index.js';

export const API_VERSION = '0.1.0';

/**
 * The server's request listener: hot-path routes (defineLeanRoute) are served before Express,
 * everything else by the Express app. Both send the same response headers (headers.ts).
 */
export function createRequestListener(deps: ServerDeps): RequestListener {
  const routes = allRoutes(deps);
  const app = createApp(deps, routes);
  const lean = leanDispatcher(deps.ctx, routes, '/api/v1', responseHeaders({ hsts: deps.config.hsts }));
  const peers = deps.sandboxPeers;
  return (req, res) => {
    // The sandbox channel peers (WeChat Pay's API, Alipay's gateway) answer in their own formats, before the app.
    if (peers?.handle(req, res)) return;
    if (!lean(req, res)) app(req, res);
  };
}

/** The Express app over `routes` (probes, the OpenAPI document, the routers, the error handlers). */
export function createApp(deps: ServerDeps, routes: RouteSpec[]): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', deps.config.trustProxy);
  app.set('etag', false);
  const headers = Object.entries(responseHeaders({ hsts: deps.config.hsts }));
  app.use((_req, res, next) => {
    for (const [k, v] of headers) res.setHeader(k, v);
    next();
  });
  app.use(rejectMalformedPath);
  // Probes first: unauthenticated, and answering even when the API routes could not.
  app.use(healthRouter(deps.ctx));

  const openapi = JSON.stringify(buildOpenApiDocument(routes, { version: API_VERSION }, webhookEventDocs()));
  app.get('/api/openapi', (_req, res) => {
    res.type('application/json').send(openapi);
  });
  app.get('/api/health', (_req, res) => {
    res.json({ ok: true });
  });
  // Channel callbacks: raw bodies, the channels' own reply formats (routes/channel-callbacks.ts).
  app.use(channelCallbackRouter(deps));
  // The hosted checkout page: public HTML per payment order, its own CSP (server/checkout-page).
  const payments = deps.payments;
  app.use('/pay', createCheckoutPageRouter({ ctx: deps.ctx, notifyUrl: payments ? (c) => payments.notifyUrl(c) : undefined }));
  app.use(
    methodNotAllowed([
      { method: 'get', path: '/api/openapi' },
      { method: 'get', path: '/api/health' },
      { method: 'post', path: CHANNEL_CALLBACK_PATHS.wechat },
      { method: 'post', path: CHANNEL_CALLBACK_PATHS.alipay },
    ]),
  );
  app.use('/api/v1', buildRouter(deps.ctx, routes));
  // The merchants API document's paths (/v1/auth/login, /v1/merchants, …), same handlers.
  app.use(
    '/v1',
    buildRouter(
      deps.ctx,
      routes.filter((r) => r.legacyV1),
    ),
  );
  app.use(notFoundHandler);
  app.use(errorHandler);
  return app;
}
