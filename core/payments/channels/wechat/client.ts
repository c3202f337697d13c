/**
 * The WeChat Pay API v3 Native channel: direct merchant (直连商户) Native orders, query, close,
 * domestic refunds, and the signed + encrypted notifications. Built from the public
 * specification with `node:crypto` and `fetch` only; see README.md for what is covered.
 */
import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import {
  ChannelError,
  type ChannelOrderState,
  type ChannelRefundInput,
  type ChannelRefundResult,
  type ChannelReply,
  type CreateChannelOrderInput,
  type CreatedChannelOrder,
  type IncomingNotification,
  NotificationRejected,
  type PaymentChannel,
  type VerifiedNotification,
} from '../types.js';
import type { WechatPayConfig } from './config.js';
import { authorizationHeader, decryptResource, loadPrivateKey, loadPublicKeys, verifyWechatpaySignature, WechatSignatureError } from './signing.js';
import { rfc3339ToIsoUtc, toBeijingRfc3339 } from './time.js';

export interface WechatPayChannelDeps {
  fetch?: typeof fetch;
  now(): Date;
  /** The request nonce (`nonce_str`): unpredictable, at most 32 characters of [A-Za-z0-9]. */
  nonce(): string;
}

const USER_AGENT = 'BuffMoney (WeChat Pay API v3)';
/** Channel error codes WeChat Pay documents as "try again later". */
const RETRYABLE_CODES = new Set(['SYSTEM_ERROR', 'FREQUENCY_LIMITED', 'BANKERROR']);
const OUT_TRADE_NO = /^[A-Za-z0-9_-]{6,32}$/;
/** WeChat Pay's own rule for out_refund_no. */
const OUT_REFUND_NO = /^[A-Za-z0-9_\-|*@]{1,64}$/;
const MAX_DESCRIPTION_BYTES = 127;
const MAX_REASON_CHARS = 80;

/** A JSON fen amount: an integer JSON number, exact only while it is a safe integer. */
const fen = z
  .number()
  .int()
  .nonnegative()
  .refine(Number.isSafeInteger, 'amount beyond 2^53')
  .transform((n) => BigInt(n));
const rfc3339 = z.string().transform((value, ctx) => {
  const iso = rfc3339ToIsoUtc(value);
  if (iso === undefined) {
    ctx.addIssue({ code: 'custom', message: 'not an RFC 3339 time' });
    return z.NEVER;
  }
  return iso;
});

const errorBody = z.object({ code: z.string().min(1), message: z.string().optional() });
const createdOrderBody = z.object({ code_url: z.string().min(1) });
const transactionBody = z.object({
  appid: z.string().optional(),
  mchid: z.string().optional(),
  out_trade_no: z.string(),
  transaction_id: z.string().min(1).optional(),
  trade_state: z.string().min(1),
  success_time: rfc3339.optional(),
  amount: z.object({ total: fen.optional(), payer_total: fen.optional(), currency: z.string().optional() }).optional(),
});
const refundBody = z.object({
  refund_id: z.string().min(1),
  out_refund_no: z.string(),
  out_trade_no: z.string(),
  status: z.string().min(1),
  success_time: rfc3339.optional(),
  amount: z.object({ refund: fen, total: fen.optional(), currency: z.string().optional() }),
});

const notificationEnvelope = z.object({
  id: z.string().min(1),
  event_type: z.string().min(1),
  resource_type: z.string().optional(),
  resource: z.object({
    algorithm: z.string(),
    ciphertext: z.string().min(1),
    nonce: z.string().min(1),
    associated_data: z.string().optional(),
    original_type: z.string().optional(),
  }),
});
const paymentResource = z.object({
  appid: z.string(),
  mchid: z.string(),
  out_trade_no: z.string().min(1),
  transaction_id: z.string().min(1),
  trade_state: z.string().min(1),
  success_time: rfc3339.optional(),
  amount: z.object({ total: fen, payer_total: fen.optional(), currency: z.literal('CNY').optional() }),
});
const refundResource = z.object({
  // Refund notifications carry no appid in the specification; checked when present.
  appid: z.string().optional(),
  mchid: z.string(),
  out_trade_no: z.string().min(1),
  out_refund_no: z.string().min(1),
  refund_id: z.string().min(1),
  refund_status: z.enum(['SUCCESS', 'CLOSED', 'ABNORMAL']),
  success_time: rfc3339.optional(),
  amount: z.object({ total: fen.optional(), refund: fen }),
});

interface WechatResponse {
  status: number;
  body: unknown;
}

function fenToJson(amount: bigint, what: string): number {
  if (amount <= 0n || amount > BigInt(Number.MAX_SAFE_INTEGER)) throw new ChannelError('wechat', 'invalid_input', `${what} must be a positive fen amount`, false);
  return Number(amount);
}

function invalidInput(message: string): ChannelError {
  return new ChannelError('wechat', 'invalid_input', message, false);
}

function badResponse(message: string, retryable = false): ChannelError {
  return new ChannelError('wechat', 'bad_response', message, retryable);
}

function parseBody<T extends z.ZodType>(schema: T, body: unknown, what: string): z.output<T> {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw badResponse(`WeChat Pay ${what} response is not as specified: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

function refundResult(refund: z.output<typeof refundBody>): ChannelRefundResult {
  switch (refund.status) {
    case 'SUCCESS':
      return { state: 'succeeded', refundId: refund.refund_id, refundFen: refund.amount.refund, succeededAt: refund.success_time };
    case 'PROCESSING':
      return { state: 'pending', refundId: refund.refund_id, refundFen: refund.amount.refund };
    case 'CLOSED':
    case 'ABNORMAL':
      return { state: 'failed', reason: `WeChat Pay refund ${refund.refund_id} is ${refund.status}` };
    default:
      throw badResponse(`Unknown WeChat Pay refund status ${refund.status}`);
  }
}

export function createWechatPayChannel(config: WechatPayConfig, deps: WechatPayChannelDeps): PaymentChannel {
  const doFetch = deps.fetch ?? globalThis.fetch;
  // Parsed once: a bad key fails at start-up, not at the first payment.
  const privateKey: KeyObject = loadPrivateKey(config.merchantPrivateKeyPem);
  const platformKeys = loadPublicKeys(config.platformPublicKeys);

  async function call(method: 'GET' | 'POST', pathWithQuery: string, payload?: Record<string, unknown>): Promise<WechatResponse> {
    const url = new URL(config.baseUrl + pathWithQuery);
    const body = payload === undefined ? '' : JSON.stringify(payload);
    const headers: Record<string, string> = {
      Accept: 'application/json',
      'User-Agent': USER_AGENT,
      Authorization: authorizationHeader({
        mchid: config.mchid,
        serialNo: config.merchantCertSerial,
        privateKey,
        method,
        // Signed exactly as the URL will send it (a base URL may carry a path prefix).
        pathWithQuery: url.pathname + url.search,
        body,
        timestamp: Math.floor(deps.now().getTime() / 1000),
        nonce: deps.nonce(),
      }),
    };
    if (payload !== undefined) headers['Content-Type'] = 'application/json';

    let response: Response;
    let text: string;
    try {
      response = await doFetch(url, {
        method,
        headers,
        body: payload === undefined ? undefined : body,
        // WeChat Pay never redirects an API call; following one would send our signed request elsewhere.
        redirect: 'manual',
        signal: AbortSignal.timeout(config.requestTimeoutMs),
      });
      text = await response.text();
    } catch (error) {
      throw new ChannelError('wechat', 'network', `WeChat Pay ${method} ${url.pathname} failed: ${error instanceof Error ? error.message : String(error)}`, true);
    }

    // Every answer, errors included, must be signed by WeChat Pay: an unsigned one may come from
    // anyone on the path. Only a 5xx is worth retrying (a gateway in front of WeChat Pay).
    try {
      verifyWechatpaySignature(Object.fromEntries(response.headers), text, platformKeys, deps.now());
    } catch (error) {
      if (error instanceof WechatSignatureError) throw badResponse(`WeChat Pay response ${response.status} rejected: ${error.message}`, response.status >= 500);
      throw error;
    }

    let parsed: unknown;
    if (text !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        throw badResponse(`WeChat Pay response ${response.status} is not JSON`, response.status >= 500);
      }
    }
    if (response.status >= 400) {
      const error = errorBody.safeParse(parsed);
      const code = error.success ? error.data.code : `HTTP_${response.status}`;
      const message = error.success && error.data.message ? error.data.message : `HTTP ${response.status}`;
      throw new ChannelError(
        'wechat',
        code,
        `WeChat Pay ${method} ${url.pathname}: ${code} ${message}`,
        response.status >= 500 || response.status === 429 || RETRYABLE_CODES.has(code),
      );
    }
    if (response.status < 200 || response.status > 299) throw badResponse(`WeChat Pay answered HTTP ${response.status}`);
    return { status: response.status, body: parsed };
  }

  const orderPath = (outTradeNo: string): string => {
    if (!OUT_TRADE_NO.test(outTradeNo)) throw invalidInput('outTradeNo must be 6–32 characters of [A-Za-z0-9_-]');
    return `/v3/pay/transactions/out-trade-no/${outTradeNo}`;
  };
  const refundPath = (outRefundNo: string): string => {
    if (!OUT_REFUND_NO.test(outRefundNo)) throw invalidInput('outRefundNo must be 1–64 characters of [A-Za-z0-9_-|*@]');
    return `/v3/refund/domestic/refunds/${encodeURIComponent(outRefundNo)}`;
  };

  function rejectNotification(code: string, message: string, httpStatus?: number): never {
    throw new NotificationRejected(code, message, httpStatus);
  }

  function checkMerchant(resource: { mchid: string; appid?: string }): void {
    if (resource.mchid !== config.mchid) rejectNotification('merchant_mismatch', `The notification is for merchant ${resource.mchid}, not ours`);
    if (resource.appid !== undefined && resource.appid !== config.appid) rejectNotification('merchant_mismatch', `The notification is for appid ${resource.appid}, not ours`);
  }

  return {
    name: 'wechat',

    async createOrder(input: CreateChannelOrderInput): Promise<CreatedChannelOrder> {
      if (!OUT_TRADE_NO.test(input.outTradeNo)) throw invalidInput('outTradeNo must be 6–32 characters of [A-Za-z0-9_-]');
      if (input.description === '' || Buffer.byteLength(input.description, 'utf8') > MAX_DESCRIPTION_BYTES)
        throw invalidInput(`description must be 1–${MAX_DESCRIPTION_BYTES} bytes`);
      const expiresAt = new Date(input.expiresAt);
      if (Number.isNaN(expiresAt.getTime())) throw invalidInput('expiresAt is not a time');
      const { body } = await call('POST', '/v3/pay/transactions/native', {
        appid: config.appid,
        mchid: config.mchid,
        description: input.description,
        out_trade_no: input.outTradeNo,
        time_expire: toBeijingRfc3339(expiresAt),
        notify_url: input.notifyUrl,
        amount: { total: fenToJson(input.amountFen, 'amountFen'), currency: 'CNY' },
      });
      return { codeUrl: parseBody(createdOrderBody, body, 'native order').code_url };
    },

    async queryOrder(outTradeNo: string): Promise<ChannelOrderState> {
      let body: unknown;
      try {
        ({ body } = await call('GET', `${orderPath(outTradeNo)}?mchid=${encodeURIComponent(config.mchid)}`));
      } catch (error) {
        if (error instanceof ChannelError && error.channelCode === 'ORDER_NOT_EXIST') return { state: 'not_found' };
        throw error;
      }
      const order = parseBody(transactionBody, body, 'order query');
      if (order.out_trade_no !== outTradeNo) throw badResponse(`WeChat Pay answered order ${order.out_trade_no} for ${outTradeNo}`);
      switch (order.trade_state) {
        case 'NOTPAY':
        case 'USERPAYING':
          return { state: 'open' };
        case 'CLOSED':
        case 'REVOKED':
        case 'PAYERROR':
          return { state: 'closed' };
        case 'SUCCESS': {
          if (!order.transaction_id || order.amount?.total === undefined || !order.success_time)
            throw badResponse('A SUCCESS order without transaction_id, amount.total or success_time');
          return { state: 'paid', transactionId: order.transaction_id, amountFen: order.amount.total, paidAt: order.success_time };
        }
        case 'REFUND': {
          if (!order.transaction_id || order.amount?.total === undefined) throw badResponse('A REFUND order without transaction_id or amount.total');
          return { state: 'refunded', transactionId: order.transaction_id, amountFen: order.amount.total };
        }
        default:
          throw badResponse(`Unknown WeChat Pay trade_state ${order.trade_state}`);
      }
    },

    async closeOrder(outTradeNo: string): Promise<void> {
      try {
        await call('POST', `${orderPath(outTradeNo)}/close`, { mchid: config.mchid });
      } catch (error) {
        // WeChat Pay answers 204 to closing a closed order; ORDER_CLOSED is tolerated too.
        if (error instanceof ChannelError && error.channelCode === 'ORDER_CLOSED') return;
        throw error;
      }
    },

    async refund(input: ChannelRefundInput): Promise<ChannelRefundResult> {
      if (!OUT_TRADE_NO.test(input.outTradeNo)) throw invalidInput('outTradeNo must be 6–32 characters of [A-Za-z0-9_-]');
      if (!OUT_REFUND_NO.test(input.outRefundNo)) throw invalidInput('outRefundNo must be 1–64 characters of [A-Za-z0-9_-|*@]');
      if (input.refundFen > input.totalFen) throw invalidInput('refundFen exceeds totalFen');
      if ([...input.reason].length > MAX_REASON_CHARS) throw invalidInput(`reason is at most ${MAX_REASON_CHARS} characters`);
      const { body } = await call('POST', '/v3/refund/domestic/refunds', {
        out_trade_no: input.outTradeNo,
        out_refund_no: input.outRefundNo,
        ...(input.reason === '' ? {} : { reason: input.reason }),
        notify_url: input.notifyUrl,
        amount: { refund: fenToJson(input.refundFen, 'refundFen'), total: fenToJson(input.totalFen, 'totalFen'), currency: 'CNY' },
      });
      const refund = parseBody(refundBody, body, 'refund');
      if (refund.out_refund_no !== input.outRefundNo) throw badResponse(`WeChat Pay answered refund ${refund.out_refund_no} for ${input.outRefundNo}`);
      return refundResult(refund);
    },

    async queryRefund(outTradeNo: string, outRefundNo: string): Promise<ChannelRefundResult | { state: 'not_found' }> {
      let body: unknown;
      try {
        ({ body } = await call('GET', refundPath(outRefundNo)));
      } catch (error) {
        if (error instanceof ChannelError && (error.channelCode === 'RESOURCE_NOT_EXISTS' || error.channelCode === 'ORDER_NOT_EXIST')) return { state: 'not_found' };
        throw error;
      }
      const refund = parseBody(refundBody, body, 'refund query');
      if (refund.out_refund_no !== outRefundNo || refund.out_trade_no !== outTradeNo) {
        throw badResponse(`WeChat Pay answered refund ${refund.out_refund_no} of order ${refund.out_trade_no} for ${outRefundNo} of ${outTradeNo}`);
      }
      return refundResult(refund);
    },

    verifyNotification(incoming: IncomingNotification, now: Date): VerifiedNotification {
      const raw = incoming.rawBody.toString('utf8');
      try {
        verifyWechatpaySignature(incoming.headers, raw, platformKeys, now);
      } catch (error) {
        if (error instanceof WechatSignatureError) rejectNotification(error.code, error.message);
        throw error;
      }

      let json: unknown;
      try {
        json = JSON.parse(raw);
      } catch {
        rejectNotification('malformed', 'The notification body is not JSON', 400);
      }
      const envelope = notificationEnvelope.safeParse(json);
      if (!envelope.success) rejectNotification('malformed', 'The notification is not a WeChat Pay v3 notification', 400);
      const { event_type: eventType, resource } = envelope.data;
      if (resource.algorithm !== 'AEAD_AES_256_GCM') rejectNotification('malformed', `Unsupported resource algorithm ${resource.algorithm}`, 400);

      let plaintext: string;
      try {
        plaintext = decryptResource(resource, config.apiV3Key);
      } catch {
        rejectNotification('decrypt_failed', 'The notification resource does not decrypt with our APIv3 key');
      }
      let decrypted: unknown;
      try {
        decrypted = JSON.parse(plaintext);
      } catch {
        rejectNotification('malformed', 'The decrypted resource is not JSON', 400);
      }

      if (eventType === 'TRANSACTION.SUCCESS') {
        const parsed = paymentResource.safeParse(decrypted);
        if (!parsed.success) rejectNotification('malformed', 'The payment resource is not as specified', 400);
        const payment = parsed.data;
        checkMerchant(payment);
        return {
          kind: 'payment',
          channel: 'wechat',
          outTradeNo: payment.out_trade_no,
          transactionId: payment.transaction_id,
          // The order total: what the merchant is owed. payer_total may be lower when a WeChat coupon paid part.
          amountFen: payment.amount.total,
          paid: payment.trade_state === 'SUCCESS',
          tradeState: payment.trade_state,
          paidAt: payment.success_time,
        };
      }
      if (eventType === 'REFUND.SUCCESS' || eventType === 'REFUND.ABNORMAL' || eventType === 'REFUND.CLOSED') {
        const parsed = refundResource.safeParse(decrypted);
        if (!parsed.success) rejectNotification('malformed', 'The refund resource is not as specified', 400);
        const refund = parsed.data;
        checkMerchant(refund);
        return {
          kind: 'refund',
          channel: 'wechat',
          outTradeNo: refund.out_trade_no,
          outRefundNo: refund.out_refund_no,
          refundId: refund.refund_id,
          refundFen: refund.amount.refund,
          state: refund.refund_status === 'SUCCESS' ? 'succeeded' : 'failed',
          channelStatus: refund.refund_status,
        };
      }
      return rejectNotification('malformed', `Unsupported event_type ${eventType}`, 400);
    },

    acknowledge(): ChannelReply {
      return { status: 204 };
    },

    refuse(message: string, status = 500): ChannelReply {
      return { status, contentType: 'application/json', body: JSON.stringify({ code: 'FAIL', message }) };
    },
  };
}
