import express, { type Request, type RequestHandler, type Response, Router } from 'express';
import type { Environment } from '../../core/context/index.js';
import { type ChannelName, type ChannelReply, NotificationRejected, type PaymentChannel, applyChannelNotification, paymentChannelsFor } from '../../core/payments/index.js';
import { rateLimitStoreFor } from '../../core/rate-limits/index.js';
import type { ServerDeps } from '../deps.js';
import { rateLimit } from '../http/rate-limit.js';
import { CHANNEL_CALLBACK_PATHS } from '../payments/index.js';

/** WeChat Pay and Alipay notifications are a few KB; anything much larger is not one. */
export const CALLBACK_BODY_LIMIT = '64kb';

/**
 * The channel callbacks (notify URLs): `POST /api/webhooks/wechat` and `POST /api/webhooks/alipay`.
 * Not merchant API routes — no API key, no JSON body rule, answered in the channel's own format
 * (WeChat Pay: 204 / `{"code":"FAIL",…}`; Alipay: `success` / `fail`) — so they are not in the
 * merchant API's OpenAPI document; the README lists them under "Payment channels".
 *
 * Each one reads the body untouched (no JSON or form parser runs first: signatures cover the
 * exact bytes), picks the environment whose keys the notification names (WeChat Pay: the
 * `Wechatpay-Serial` header; Alipay: `app_id`), verifies with that environment's channel and
 * applies it (core/payments applyChannelNotification) for that environment only. Every outcome —
 * applied, duplicate, exception (kept for finance), ignored — is acknowledged so the channel stops
 * retrying; a refused notification gets the channel's refusal with the status verification
 * chose; anything unexpected (the database away) a 500 refusal, so the channel sends it again.
 */
export function channelCallbackRouter(deps: ServerDeps): Router {
  const router = Router();
  const { ctx, config } = deps;
  const limit = rateLimit({
    name: 'channel-callbacks',
    limit: config.limits.channelCallbacksPerMinute,
    windowMs: 60_000,
    clock: ctx.clock,
    store: rateLimitStoreFor(ctx.db),
  });
  const raw = express.raw({ type: () => true, limit: CALLBACK_BODY_LIMIT });

  const environmentOf = (channel: ChannelName, req: Request, body: Buffer): Environment | null => {
    const payments = deps.payments;
    if (!payments) return null;
    if (channel === 'wechat') {
      const serial = req.headers['wechatpay-serial'];
      return typeof serial === 'string' ? payments.wechatEnvironmentOfSerial(serial) : null;
    }
    // The form's app_id: read here only to choose the keys; the channel verifies the whole form.
    const appId = new URLSearchParams(body.toString('utf8')).get('app_id');
    return appId ? payments.alipayEnvironmentOfAppId(appId) : null;
  };

  const reply = (res: Response, answer: ChannelReply) => {
    res.status(answer.status);
    if (answer.contentType) res.type(answer.contentType);
    res.send(answer.body ?? '');
  };

  const handler =
    (channel: ChannelName): RequestHandler =>
    async (req, res) => {
      const body: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const environment = environmentOf(channel, req, body);
      const log = (what: string) => console.warn(`[buffmoney] ${channel} callback from ${req.ip}: ${what}`);
      let client: PaymentChannel | undefined;
      try {
        if (environment === null) throw new NotificationRejected('signature_invalid', `no ${channel} configuration knows this sender's key`, 401);
        client = paymentChannelsFor(ctx)(channel, environment);
        const headers: Record<string, string | undefined> = {};
        for (const [name, value] of Object.entries(req.headers)) headers[name] = Array.isArray(value) ? value.join(', ') : value;
        const notification = client.verifyNotification({ headers, rawBody: body }, ctx.clock.now());
        const result = await applyChannelNotification(ctx, notification, { environment });
        if (result.outcome === 'exception') {
          log(`kept as payment exception ${result.exceptionId} (${result.exceptionKind}${result.alreadyRecorded ? ', again' : ''}) for ${environment}`);
        }
        reply(res, client.acknowledge());
      } catch (e) {
        // A refusal's reply comes from the channel that refused; before one exists, WeChat Pay's or Alipay's shape all the same.
        const refuser = client ? client.refuse.bind(client) : fallbackRefuser(deps, channel);
        if (e instanceof NotificationRejected) {
          // The code and reason only: never the headers, body or keys.
          log(`refused (${e.code}): ${e.message}`);
          reply(res, refuser(e.message, e.httpStatus));
          return;
        }
        console.error(`[buffmoney] ${channel} callback failed; asking the channel to retry:`, e);
        reply(res, refuser('retry later', 500));
      }
    };

  for (const channel of ['wechat', 'alipay'] as const) router.post(CHANNEL_CALLBACK_PATHS[channel], limit, raw, handler(channel));
  return router;
}

/** The channel's refusal format without a configured client (an unknown sender, a channel not set up). */
function fallbackRefuser(deps: ServerDeps, channel: ChannelName): (message: string, status: number) => ChannelReply {
  return (message, status) => {
    for (const environment of ['sandbox', 'live'] as const) {
      try {
        return paymentChannelsFor(deps.ctx)(channel, environment).refuse(message, status);
      } catch {
        // not configured there
      }
    }
    return channel === 'wechat'
      ? { status, contentType: 'application/json', body: JSON.stringify({ code: 'FAIL', message }) }
      : { status, contentType: 'text/plain; charset=utf-8', body: 'fail' };
  };
}
