import express, { type NextFunction, type Request, type Response, Router } from 'express';
import type { CoreContext } from '../../core/context/index.js';
import { isDomainError } from '../../core/errors/index.js';
import { CHANNEL_NAMES, type ChannelName, createCheckout, paymentChannelsFor } from '../../core/payments/index.js';
import { countAttempt, createMemoryRateLimitStore, rateLimitStoreFor } from '../../core/rate-limits/index.js';
import { logInternalError } from '../http/errors.js';
import { ASSETS } from './assets.js';
import { loadHostedCheckout, loadStateFacts, payerState } from '../../core/payments/hosted-checkout.js';
import { type Language, negotiateLanguage } from './messages.js';
import { type MessagePage, type Notice, renderCheckoutPage, renderMessagePage } from './render.js';

export interface CheckoutPageDeps {
  ctx: CoreContext;
  /**
   * The server's public origin (`https://pay.example.com`), for the callback address a new
   * payment order gives the channel (`<publicUrl>/api/webhooks/<channel>`). Without it, the
   * request's own origin is used (fine on loopback and behind a proxy that sets Host; set it in
   * production so a forged Host header cannot choose where the channel calls back).
   */
  publicUrl?: string;
  /**
   * The callback address for a channel, from the server's payment setup (server/payments:
   * `BUFFMONEY_PUBLIC_URL`); preferred over `publicUrl` when given, so the page and the checkout
   * API give the channels the same address.
   */
  notifyUrl?: (channel: ChannelName) => string;
  /** Requests per minute per client IP: pages and status polls, and channel switches (defaults 300 and 20). */
  limits?: { viewsPerMinute?: number; switchesPerMinute?: number };
}

/**
 * The page's own policy: its script and stylesheet from this origin, the QR as a data: image,
 * status polls to this origin, forms posting only here, never framed.
 */
export const CHECKOUT_PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const MINUTE = 60_000;

/** Headers of every answer: the token is in the URL, so never cached, indexed or sent on as a referrer. */
function commonHeaders(res: Response): void {
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Robots-Tag', 'noindex, nofollow');
  res.setHeader('X-Content-Type-Options', 'nosniff');
}

function sendHtml(res: Response, status: number, html: string): void {
  commonHeaders(res);
  res.setHeader('Content-Security-Policy', CHECKOUT_PAGE_CSP);
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Vary', 'Accept-Language');
  res.status(status).type('text/html; charset=utf-8').send(html);
}

function languageOf(req: Request): Language {
  return negotiateLanguage(req.get('accept-language'));
}

function sendMessagePage(req: Request, res: Response, status: number, kind: MessagePage): void {
  sendHtml(res, status, renderMessagePage(kind, languageOf(req), req.baseUrl));
}

/**
 * The hosted checkout page (issue 13), mounted at `/pay`:
 *
 * | route | answer |
 * |---|---|
 * | `GET /pay/:token` | the page (HTML) in the payer's language; 404 page for any unknown or malformed token |
 * | `GET /pay/:token/status` | `{ status, expiresAt, paidAt? }` — polled by the page every 2 s |
 * | `POST /pay/:token/channel` | form `channel=wechat\|alipay` (default: the other one): the invoice's order for that channel, 303 to its page |
 * | `GET /pay/assets/checkout.<hash>.js\|css` | the page's script and stylesheet |
 *
 * No login: the 256-bit token in the URL is the capability, and it reaches only its own invoice.
 * The page shows only what the payer needs (merchant's name, invoice number and period, amount,
 * the code); no ids, no customer data.
 */
export function createCheckoutPageRouter(deps: CheckoutPageDeps): Router {
  const { ctx } = deps;
  const router = Router({ caseSensitive: true, strict: false });
  // Views and polls are cheap indexed reads: counted in this process's memory (per process, so
  // with N replicas a client gets N× the limit — generous either way, it only stops floods). A
  // switch creates an order at the channel: counted where every replica sees it (the database on
  // PostgreSQL).
  const viewRule = { name: 'checkout page', limit: deps.limits?.viewsPerMinute ?? 300, windowMs: MINUTE };
  const switchRule = { name: 'payment method switch', limit: deps.limits?.switchesPerMinute ?? 20, windowMs: MINUTE };
  const viewStore = createMemoryRateLimitStore();
  const switchStore = rateLimitStoreFor(ctx.db);
  const limited = (store: typeof viewStore, rule: typeof viewRule) => (req: Request, _res: Response, next: NextFunction) => {
    countAttempt(store, rule, req.ip ?? req.socket.remoteAddress ?? 'unknown', ctx.clock.now().getTime()).then(() => next(), next);
  };

  for (const asset of Object.values(ASSETS)) {
    router.get(asset.path, (_req, res) => {
      res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
      res.setHeader('X-Content-Type-Options', 'nosniff');
      res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
      res.status(200).type(asset.type).send(asset.body);
    });
  }

  router.get('/:token', limited(viewStore, viewRule), async (req, res, next) => {
    try {
      const token = String(req.params.token);
      const checkout = await loadHostedCheckout(ctx, token);
      if (!checkout) return sendMessagePage(req, res, 404, 'notFound');
      const now = ctx.clock.now();
      const { status, paidAt } = payerState(checkout, now);
      const notice = noticeOf(req.query.notice, req.query.channel);
      sendHtml(res, 200, renderCheckoutPage({ checkout, state: status, paidAt, language: languageOf(req), base: req.baseUrl, now, notice }));
    } catch (err) {
      next(err);
    }
  });

  router.get('/:token/status', limited(viewStore, viewRule), async (req, res, next) => {
    try {
      const facts = await loadStateFacts(ctx, String(req.params.token));
      commonHeaders(res);
      res.setHeader('Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'");
      if (!facts) return void res.status(404).json({ status: 'not_found' });
      const { status, paidAt } = payerState(facts, ctx.clock.now());
      res.status(200).json(paidAt ? { status, expiresAt: facts.expiresAt, paidAt } : { status, expiresAt: facts.expiresAt });
    } catch (err) {
      next(err);
    }
  });

  router.post('/:token/channel', limited(switchStore, switchRule), express.urlencoded({ extended: false, limit: '1kb', parameterLimit: 4 }), async (req, res, next) => {
    try {
      // A cross-site form cannot know the token, but browsers that say where a request comes
      // from get a plain refusal for anything but this site.
      const site = req.get('sec-fetch-site');
      if (site && site !== 'same-origin' && site !== 'none') return sendMessagePage(req, res, 403, 'notFound');
      const token = String(req.params.token);
      const checkout = await loadHostedCheckout(ctx, token);
      if (!checkout) return sendMessagePage(req, res, 404, 'notFound');
      const back = `${req.baseUrl}/${encodeURIComponent(token)}`;
      const asked = (req.body as Record<string, unknown> | undefined)?.channel;
      const channel: ChannelName = (CHANNEL_NAMES as readonly unknown[]).includes(asked) ? (asked as ChannelName) : checkout.channel === 'wechat' ? 'alipay' : 'wechat';
      const origin = (deps.publicUrl ?? `${req.protocol}://${req.get('host')}`).replace(/\/+$/, '');
      try {
        const view = await createCheckout(ctx, paymentChannelsFor(ctx), {
          merchantId: checkout.merchantId,
          environment: checkout.environment,
          invoiceId: checkout.invoiceId,
          channel,
          notifyUrl: deps.notifyUrl ?? ((c) => `${origin}/api/webhooks/${c}`),
          hostedUrl: (t) => `${req.baseUrl}/${encodeURIComponent(t)}`,
        });
        commonHeaders(res);
        res.redirect(303, view.checkout.url);
      } catch (err) {
        if (!isDomainError(err)) throw err;
        commonHeaders(res);
        // Paid, void or refunded meanwhile: this page says so. The channel down: this page, with a notice.
        if (err.kind === 'conflict') return res.redirect(303, back);
        if (err.kind === 'unavailable') return res.redirect(303, `${back}?notice=unavailable&channel=${channel}`);
        throw err;
      }
    } catch (err) {
      next(err);
    }
  });

  router.all('/:token', methodNotAllowed('GET, HEAD'));
  router.all('/:token/status', methodNotAllowed('GET, HEAD'));
  router.all('/:token/channel', methodNotAllowed('POST'));
  // Everything else under /pay: the same not-found page as a wrong token.
  router.use((req, res) => sendMessagePage(req, res, 404, 'notFound'));
  router.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) return void res.end();
    const json = req.path.endsWith('/status');
    const fail = (status: number, page: MessagePage, body: string) => {
      if (!json) return sendMessagePage(req, res, status, page);
      commonHeaders(res);
      res.status(status).json({ status: body });
    };
    if (isDomainError(err) && err.kind === 'rate_limited') {
      if (err.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(err.retryAfterSeconds));
      return fail(429, 'rateLimited', 'rate_limited');
    }
    // The form parser's refusals (too large, bad encoding) carry their 4xx status.
    const status = (err as { status?: unknown } | null)?.status;
    if (typeof status === 'number' && status >= 400 && status < 500) return fail(400, 'failed', 'bad_request');
    logInternalError(req.method, req.baseUrl, err);
    fail(500, 'failed', 'error');
  });
  return router;
}

function methodNotAllowed(allow: string) {
  return (req: Request, res: Response) => {
    res.setHeader('Allow', allow);
    sendMessagePage(req, res, 405, 'notFound');
  };
}

function noticeOf(kind: unknown, channel: unknown): { kind: Notice; channel?: ChannelName } | undefined {
  if (kind !== 'unavailable' && kind !== 'busy') return undefined;
  return { kind, channel: (CHANNEL_NAMES as readonly unknown[]).includes(channel) ? (channel as ChannelName) : undefined };
}
