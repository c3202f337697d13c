import { AlipaySdk } from 'alipay-sdk';
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
import { fenToYuan, fromShanghaiTime, toShanghaiTime, yuanToFen } from './amounts.js';
import { topLevelMembers } from './answer.js';
import { type AlipayConfigInput, alipayConfigSchema } from './config.js';

export interface AlipayChannelDeps {
  now(): Date;
}

/** An Alipay open-API answer member (`alipay_trade_query_response`), snake_case as Alipay writes it. */
type AlipayAnswer = Record<string, unknown> & { code?: unknown; msg?: unknown; sub_code?: unknown; sub_msg?: unknown };

const successCode = '10000';
/** Alipay's "business failed" class: the request was understood and refused for a business reason. */
const businessFailedCode = '40004';
/** 20000 "Service Currently Unavailable" and ACQ.SYSTEM_ERROR: Alipay's own words for "try again". */
const retryableCodes = new Set(['20000']);
const retryableSubCodes = new Set(['ACQ.SYSTEM_ERROR', 'aop.ACQ.SYSTEM_ERROR', 'isp.unknow-error', 'isp.unknown-error']);

const outTradeNoPattern = /^[A-Za-z0-9_-]{6,32}$/;

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function badResponse(message: string): ChannelError {
  return new ChannelError('alipay', 'bad_response', message, false);
}

function answerError(method: string, answer: AlipayAnswer): ChannelError {
  const code = text(answer.code) ?? 'unknown';
  const subCode = text(answer.sub_code);
  const retryable = retryableCodes.has(code) || (subCode !== undefined && retryableSubCodes.has(subCode));
  const detail = [code, text(answer.msg), subCode, text(answer.sub_msg)].filter(Boolean).join(' ');
  return new ChannelError('alipay', subCode ?? code, `${method}: ${detail}`, retryable);
}

/** The common parameters Alipay's gateway reads from the query string (the same list alipay-sdk uses). */
const queryStringParams = new Set([
  'app_id',
  'method',
  'format',
  'charset',
  'sign_type',
  'sign',
  'timestamp',
  'version',
  'notify_url',
  'return_url',
  'auth_token',
  'app_auth_token',
  'app_cert_sn',
  'alipay_root_cert_sn',
  'ws_service_url',
]);

/** A signed answer replayed from another order is still Alipay's signature: check it names ours. */
function mustNameOrder(method: string, answer: AlipayAnswer, outTradeNo: string): void {
  if (answer.out_trade_no !== undefined && answer.out_trade_no !== outTradeNo) throw badResponse(`${method}: the answer names another order`);
}

function refundIdOf(tradeNo: string, outRefundNo: string): string {
  // Alipay gives a refund no id of its own: the trade number and our out_request_no name it, the
  // same way in the refund answer, the refund query and the trade-status notification.
  return `${tradeNo}:${outRefundNo}`;
}

/**
 * The Alipay open-API channel (face-to-face precreate: the payer scans `qr_code`). Requests are
 * RSA2-signed by alipay-sdk; every answer's signature is checked against Alipay's public key,
 * errors included, so a forged "refund failed" cannot steer the payments core either.
 */
export function createAlipayChannel(configInput: AlipayConfigInput, deps: AlipayChannelDeps): PaymentChannel {
  const config = alipayConfigSchema.parse(configInput);
  const sdk = new AlipaySdk({
    appId: config.appId,
    // The SDK re-wraps keys line by line and keeps a trailing empty line as key material: trim.
    privateKey: config.privateKey.trim(),
    keyType: 'PKCS8',
    alipayPublicKey: config.alipayPublicKey.trim(),
    signType: 'RSA2',
    gateway: config.gateway,
  });

  /**
   * One gateway call. alipay-sdk signs the request (sdkExecute is its util.sign: RSA2 over the
   * sorted parameters) and checks the answer's signature (rsaCheck), but the HTTP exchange and the
   * cutting-out of the signed text are ours: the SDK's exec() takes its data from JSON.parse while
   * verifying a different text, so a duplicated member forges an answer past it (see answer.ts).
   */
  async function call(method: string, bizContent: Record<string, unknown>, common: Record<string, string> = {}): Promise<AlipayAnswer> {
    const signed = new URLSearchParams(
      sdk.sdkExecute(
        method,
        // The SDK stamps `timestamp` from the host's local zone; Alipay reads it as Beijing time,
        // so it is given explicitly from our clock (a server in UTC would otherwise be 8 h off).
        { bizContent, timestamp: toShanghaiTime(deps.now()), ...common },
        // Our biz_content keys are already Alipay's snake_case: send them as written.
        { bizContentAutoSnakeCase: false },
      ),
    );
    const url = new URL(config.gateway);
    const body = new URLSearchParams();
    for (const [key, value] of signed) (queryStringParams.has(key) ? url.searchParams : body).set(key, value);

    let status: number;
    let raw: string;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded;charset=utf-8', accept: 'application/json' },
        body: body.toString(),
        // The gateway never redirects; following one would send a signed request somewhere else.
        redirect: 'manual',
        signal: AbortSignal.timeout(config.timeoutMs),
      });
      status = response.status;
      raw = await response.text();
    } catch (error) {
      throw new ChannelError('alipay', 'network', `${method}: ${error instanceof Error ? error.message : String(error)}`, true);
    }
    if (status !== 200) {
      throw new ChannelError('alipay', status >= 500 ? 'network' : 'bad_response', `${method}: the gateway answered HTTP ${status}`, status >= 500 || status === 429);
    }
    return verifiedAnswer(method, raw);
  }

  function verifiedAnswer(method: string, raw: string): AlipayAnswer {
    const responseKey = `${method.replaceAll('.', '_')}_response`;
    let members: Map<string, string>;
    try {
      members = topLevelMembers(raw);
    } catch (error) {
      throw badResponse(`${method}: the answer is not Alipay's JSON (${error instanceof Error ? error.message : String(error)})`);
    }
    const memberText = members.get(responseKey);
    if (memberText === undefined) {
      // error_response is what the gateway says when it could not even route the call; unsigned,
      // it is reported but never believed (a forged refusal must not become a failed refund).
      throw badResponse(
        `${method}: no ${responseKey} in the answer${members.has('error_response') ? `; unsigned error_response ${members.get('error_response')?.slice(0, 300)}` : ''}`,
      );
    }
    const signText = members.get('sign');
    const sign: unknown = signText === undefined ? undefined : JSON.parse(signText);
    if (typeof sign !== 'string' || sign === '') throw badResponse(`${method}: the answer is not signed`);
    let valid = false;
    try {
      valid = sdk.rsaCheck(memberText, sign, 'RSA2');
    } catch {
      valid = false;
    }
    if (!valid) throw badResponse(`${method}: the answer's signature does not verify against Alipay's public key`);
    const answer: unknown = JSON.parse(memberText);
    if (typeof answer !== 'object' || answer === null || Array.isArray(answer)) throw badResponse(`${method}: the answer member is not an object`);
    return answer as AlipayAnswer;
  }

  async function queryOrder(outTradeNo: string): Promise<ChannelOrderState> {
    const method = 'alipay.trade.query';
    const answer = await call(method, { out_trade_no: outTradeNo });
    if (answer.code !== successCode) {
      // A precreated order exists at Alipay only once a payer has scanned it.
      if (answer.sub_code === 'ACQ.TRADE_NOT_EXIST') return { state: 'not_found' };
      throw answerError(method, answer);
    }
    mustNameOrder(method, answer, outTradeNo);
    const status = text(answer.trade_status);
    switch (status) {
      case 'WAIT_BUYER_PAY':
        return { state: 'open' };
      case 'TRADE_SUCCESS':
      case 'TRADE_FINISHED': {
        const { transactionId, amountFen } = paidFacts(method, answer);
        const sendPayDate = text(answer.send_pay_date);
        // send_pay_date is Alipay's payment time; if a trade ever lacks it, the time we learnt of it stands in.
        const paidAt = (sendPayDate && fromShanghaiTime(sendPayDate)) || deps.now().toISOString();
        return { state: 'paid', transactionId, amountFen, paidAt };
      }
      case 'TRADE_CLOSED': {
        // TRADE_CLOSED means "expired / closed unpaid" or "paid, then refunded in full". Only a paid
        // trade has a send_pay_date: that tells the two apart.
        if (text(answer.send_pay_date)) {
          const { transactionId, amountFen } = paidFacts(method, answer);
          return { state: 'refunded', transactionId, amountFen };
        }
        return { state: 'closed' };
      }
      default:
        throw badResponse(`${method}: unknown trade_status ${String(status)}`);
    }
  }

  function paidFacts(method: string, answer: AlipayAnswer): { transactionId: string; amountFen: bigint } {
    const transactionId = text(answer.trade_no);
    const amountFen = yuanToFen(text(answer.total_amount) ?? '');
    if (!transactionId || amountFen === null) throw badResponse(`${method}: a paid trade without trade_no or total_amount`);
    return { transactionId, amountFen };
  }

  async function queryRefund(outTradeNo: string, outRefundNo: string): Promise<ChannelRefundResult | { state: 'not_found' }> {
    const method = 'alipay.trade.fastpay.refund.query';
    const answer = await call(method, { out_trade_no: outTradeNo, out_request_no: outRefundNo, query_options: ['gmt_refund_pay'] });
    if (answer.code !== successCode) {
      if (answer.sub_code === 'ACQ.TRADE_NOT_EXIST') return { state: 'not_found' };
      throw answerError(method, answer);
    }
    mustNameOrder(method, answer, outTradeNo);
    if (answer.out_request_no !== undefined && answer.out_request_no !== outRefundNo) throw badResponse(`${method}: the answer names another refund`);
    // Alipay answers 10000 with no refund fields when it never received (or refused) this out_request_no.
    const refundFen = yuanToFen(text(answer.refund_amount) ?? '');
    if (refundFen === null) return { state: 'not_found' };
    const tradeNo = text(answer.trade_no);
    if (!tradeNo) throw badResponse(`${method}: a refund without trade_no`);
    const refundId = refundIdOf(tradeNo, outRefundNo);
    if (answer.refund_status === 'REFUND_SUCCESS') {
      const gmtRefundPay = text(answer.gmt_refund_pay);
      const succeededAt = gmtRefundPay ? (fromShanghaiTime(gmtRefundPay) ?? undefined) : undefined;
      return { state: 'succeeded', refundId, refundFen, ...(succeededAt ? { succeededAt } : {}) };
    }
    // Data without REFUND_SUCCESS: received but not (yet) done; Alipay advises asking again later.
    return { state: 'pending', refundId, refundFen };
  }

  return {
    name: 'alipay',

    async createOrder(input: CreateChannelOrderInput): Promise<CreatedChannelOrder> {
      if (!outTradeNoPattern.test(input.outTradeNo)) throw new RangeError(`out_trade_no must be 6–32 of [A-Za-z0-9_-]: ${input.outTradeNo}`);
      if (input.amountFen < 1n) throw new RangeError('an Alipay order is at least 0.01 yuan');
      const expiresAt = new Date(input.expiresAt);
      if (Number.isNaN(expiresAt.getTime())) throw new RangeError(`expiresAt is not a time: ${input.expiresAt}`);
      const method = 'alipay.trade.precreate';
      const answer = await call(
        method,
        {
          out_trade_no: input.outTradeNo,
          total_amount: fenToYuan(input.amountFen),
          subject: input.description,
          time_expire: toShanghaiTime(expiresAt),
        },
        // notify_url is a common parameter (next to app_id), not part of biz_content.
        { notify_url: input.notifyUrl },
      );
      if (answer.code !== successCode) throw answerError(method, answer);
      const qrCode = text(answer.qr_code);
      if (!qrCode) throw badResponse(`${method}: no qr_code in a successful answer`);
      mustNameOrder(method, answer, input.outTradeNo);
      return { codeUrl: qrCode };
    },

    queryOrder,

    async closeOrder(outTradeNo: string): Promise<void> {
      const method = 'alipay.trade.close';
      const answer = await call(method, { out_trade_no: outTradeNo });
      if (answer.code === successCode) return;
      // Nothing to close: a precreated order nobody scanned does not exist at Alipay yet. Its QR code
      // stays payable until time_expire all the same, so a late payment must still be accepted.
      if (answer.sub_code === 'ACQ.TRADE_NOT_EXIST') return;
      if (answer.sub_code === 'ACQ.TRADE_STATUS_ERROR') {
        // Alipay says the same for "already closed" and "already paid": ask which one it is.
        const state = await queryOrder(outTradeNo);
        if (state.state === 'closed' || state.state === 'not_found') return;
        throw new ChannelError('alipay', 'ACQ.TRADE_STATUS_ERROR', `${method}: the order cannot be closed, it is ${state.state}`, false);
      }
      throw answerError(method, answer);
    },

    async refund(input: ChannelRefundInput): Promise<ChannelRefundResult> {
      if (input.refundFen < 1n) throw new RangeError('a refund is at least 0.01 yuan');
      const method = 'alipay.trade.refund';
      const answer = await call(method, {
        out_trade_no: input.outTradeNo,
        out_request_no: input.outRefundNo,
        refund_amount: fenToYuan(input.refundFen),
        refund_reason: input.reason,
      });
      if (answer.code !== successCode) {
        const error = answerError(method, answer);
        // A business refusal (not refundable, amount too high, balance short…) is an answer, not an outage.
        if (answer.code === businessFailedCode && !error.retryable) return { state: 'failed', reason: error.message };
        throw error;
      }
      mustNameOrder(method, answer, input.outTradeNo);
      const tradeNo = text(answer.trade_no);
      if (!tradeNo) throw badResponse(`${method}: no trade_no in a successful answer`);
      if (answer.fund_change === 'Y') {
        const gmtRefundPay = text(answer.gmt_refund_pay);
        const succeededAt = gmtRefundPay ? (fromShanghaiTime(gmtRefundPay) ?? undefined) : undefined;
        // refund_fee in this answer is the trade's cumulative refund; this refund is what we asked for.
        return { state: 'succeeded', refundId: refundIdOf(tradeNo, input.outRefundNo), refundFen: input.refundFen, ...(succeededAt ? { succeededAt } : {}) };
      }
      // fund_change N: no money moved on this call — a retry of a refund already made, or one still
      // in progress. Alipay's advice is to ask the refund query, which tells the two apart.
      const known = await queryRefund(input.outTradeNo, input.outRefundNo);
      if (known.state === 'not_found') return { state: 'pending', refundId: refundIdOf(tradeNo, input.outRefundNo), refundFen: input.refundFen };
      return known;
    },

    queryRefund,

    verifyNotification(incoming: IncomingNotification, _now: Date): VerifiedNotification {
      const params = parseNotificationBody(incoming);
      const sign = params.get('sign');
      if (!sign) throw new NotificationRejected('signature_invalid', 'the notification carries no sign');
      // RSA (SHA-1) is Alipay's legacy scheme; the SDK would switch algorithm on this field, so
      // nothing but RSA2 reaches it.
      if (params.get('sign_type') !== 'RSA2') throw new NotificationRejected('signature_invalid', 'sign_type is not RSA2');
      // checkNotifySignV2: the signed text is built from the decoded values (as Alipay signs them),
      // sorted, without sign and sign_type.
      if (!sdk.checkNotifySignV2(Object.fromEntries(params))) throw new NotificationRejected('signature_invalid', 'the notification signature does not verify');
      if (params.get('app_id') !== config.appId) throw new NotificationRejected('merchant_mismatch', 'the notification is for another app_id');
      if (params.get('seller_id') !== config.sellerId) throw new NotificationRejected('merchant_mismatch', 'the notification is for another seller_id');
      const notifyType = params.get('notify_type');
      if (notifyType !== undefined && notifyType !== 'trade_status_sync') throw malformed(`unexpected notify_type ${notifyType}`);

      const outTradeNo = params.get('out_trade_no');
      const tradeNo = params.get('trade_no');
      const tradeStatus = params.get('trade_status');
      if (!outTradeNo || !tradeNo || !tradeStatus) throw malformed('out_trade_no, trade_no and trade_status are required');

      const outBizNo = params.get('out_biz_no');
      const refundFeeText = params.get('refund_fee');
      if (outBizNo && refundFeeText) {
        // Alipay reports a refund as a trade-status sync carrying out_biz_no (our out_request_no) and
        // refund_fee — the trade's CUMULATIVE refunded amount, not this refund's. It is sent only
        // after the money moved, so it is a refund notification that succeeded.
        const refundFen = yuanToFen(refundFeeText);
        if (refundFen === null) throw malformed(`refund_fee is not yuan with at most two decimals: ${refundFeeText}`);
        return {
          kind: 'refund',
          channel: 'alipay',
          outTradeNo,
          outRefundNo: outBizNo,
          refundId: refundIdOf(tradeNo, outBizNo),
          refundFen,
          refundFenIsTradeTotal: true,
          state: 'succeeded',
          channelStatus: tradeStatus,
        };
      }

      let paid: boolean;
      if (tradeStatus === 'TRADE_SUCCESS' || tradeStatus === 'TRADE_FINISHED') paid = true;
      else if (tradeStatus === 'WAIT_BUYER_PAY' || tradeStatus === 'TRADE_CLOSED') paid = false;
      else throw malformed(`unknown trade_status ${tradeStatus}`);
      const totalText = params.get('total_amount') ?? '';
      const amountFen = yuanToFen(totalText);
      if (amountFen === null) throw malformed(`total_amount is not yuan with at most two decimals: ${totalText}`);
      const gmtPayment = params.get('gmt_payment');
      let paidAt: string | undefined;
      if (gmtPayment) {
        paidAt = fromShanghaiTime(gmtPayment) ?? undefined;
        if (!paidAt) throw malformed(`gmt_payment is not a time: ${gmtPayment}`);
      }
      return {
        kind: 'payment',
        channel: 'alipay',
        outTradeNo,
        transactionId: tradeNo,
        amountFen,
        paid,
        tradeState: tradeStatus,
        ...(paidAt ? { paidAt } : {}),
      };
    },

    acknowledge(): ChannelReply {
      // Alipay stops retrying only on the literal body `success`.
      return { status: 200, contentType: 'text/plain; charset=utf-8', body: 'success' };
    },

    refuse(_message: string, status = 500): ChannelReply {
      // Anything but `success` makes Alipay retry (up to 8 times over ~25 h). The reason stays in our
      // logs: a prober learns nothing from the body.
      return { status, contentType: 'text/plain; charset=utf-8', body: 'fail' };
    },
  };
}

function malformed(message: string): NotificationRejected {
  return new NotificationRejected('malformed', message, 400);
}

/** The form body as a map; a repeated key (a smuggling attempt, never sent by Alipay) is refused. */
function parseNotificationBody(incoming: IncomingNotification): Map<string, string> {
  const contentType = incoming.headers['content-type'];
  if (contentType !== undefined && !contentType.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    throw malformed(`unexpected content-type ${contentType}`);
  }
  let body: string;
  try {
    body = new TextDecoder('utf-8', { fatal: true }).decode(incoming.rawBody);
  } catch {
    throw malformed('the body is not UTF-8');
  }
  const params = new Map<string, string>();
  for (const [key, value] of new URLSearchParams(body)) {
    if (params.has(key)) throw malformed(`parameter ${key} appears twice`);
    params.set(key, value);
  }
  const charset = params.get('charset');
  if (charset !== undefined && charset.toLowerCase() !== 'utf-8') throw malformed(`charset ${charset} is not utf-8`);
  return params;
}
