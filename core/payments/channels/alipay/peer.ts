import { createSign, createVerify, generateKeyPairSync, randomBytes, randomInt } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type PeerStateStore, PeerStateSync } from '../peer-state.js';
import { fenToYuan, toShanghaiTime, yuanToFen } from './amounts.js';

/**
 * A local Alipay open-API gateway for tests and the product's sandbox: it checks our RSA2 request
 * signatures with the app public key, keeps orders and refunds as Alipay would, signs its answers
 * with the "Alipay" private key, and posts signed trade-status notifications on `pay()`.
 * It is a peer on 127.0.0.1, never a mock inside the client: the real client talks real HTTP to it.
 */
export interface AlipayPeerOptions {
  /** Our application's public key (PEM): requests must verify against it. */
  appPublicKey: string;
  /** The private key playing Alipay's (PEM): answers and notifications are signed with it. */
  alipayPrivateKey: string;
  appId: string;
  sellerId: string;
  now?: () => Date;
  /** Where orders (with their refunds) are kept beyond this process (the product's sandbox: the database); the Map only without. */
  store?: PeerStateStore;
}

export type AlipayPeerTradeStatus = 'CREATED' | 'WAIT_BUYER_PAY' | 'TRADE_SUCCESS' | 'TRADE_FINISHED' | 'TRADE_CLOSED';

export interface AlipayPeerRefund {
  outRequestNo: string;
  refundFen: bigint;
  gmtRefundPay: string;
}

export interface AlipayPeerOrder {
  outTradeNo: string;
  /** Assigned when a payer scans the code (Alipay creates the trade then, not at precreate). */
  tradeNo?: string;
  totalFen: bigint;
  subject: string;
  notifyUrl?: string;
  /** Beijing time, as sent. */
  timeExpire?: string;
  qrCode: string;
  /** CREATED: precreated, not scanned — Alipay answers ACQ.TRADE_NOT_EXIST for it. */
  status: AlipayPeerTradeStatus;
  gmtCreate: string;
  gmtPayment?: string;
  buyerId: string;
  refunds: Map<string, AlipayPeerRefund>;
  refundedFen: bigint;
}

/** One-shot misbehaviours for the next gateway request, to test the client's error handling. */
export type AlipayPeerFault =
  | 'unsigned' // a well-formed answer without `sign`
  | 'tampered' // signed, then a value changed
  | 'duplicate_member' // the signed member, its sign, then a second (forged) member under the same key
  | 'wrong_key' // signed with a key that is not Alipay's
  | 'http_503'
  | 'garbage' // 200 with a body that is not JSON
  | 'system_error' // 40004 ACQ.SYSTEM_ERROR, signed
  | 'service_unavailable' // 20000 Service Currently Unavailable, signed
  | 'replay' // the last genuine signed answer to this method, whatever order it was about
  | 'hang'; // never answer (the client's timeout fires)

export interface AlipayPeer {
  /** The gateway URL to configure as `gateway`. */
  url: string;
  orders: Map<string, AlipayPeerOrder>;
  /** Every gateway call's method, in order (a test can see the client asked the refund query). */
  calls: string[];
  /** Every gateway call's parameters as received (query string and body merged), in order. */
  requests: Record<string, string>[];
  failNext(fault: AlipayPeerFault): void;
  /** The payer scans the code: the trade now exists at Alipay in WAIT_BUYER_PAY. */
  scan(outTradeNo: string): AlipayPeerOrder;
  /** The payer pays: TRADE_SUCCESS, then a signed notification POSTed to the order's notify_url. */
  pay(outTradeNo: string, options?: { tradeNo?: string }): Promise<{ status: number; body: string }>;
  /** Whether the peer has the order (in its store, when it has one). */
  knowsOrder(outTradeNo: string): Promise<boolean>;
  /** A signed trade-status notification for the order as it stands; `overrides` apply before signing (undefined removes). */
  buildPaymentNotification(outTradeNo: string, overrides?: Record<string, string | undefined>): string;
  /** The trade-status notification Alipay sends after a refund (out_biz_no, refund_fee, gmt_refund). */
  buildRefundNotification(outTradeNo: string, outRequestNo: string, overrides?: Record<string, string | undefined>): string;
  /** Signs any parameter set as Alipay signs notifications; returns the form body. */
  signNotification(params: Record<string, string>): string;
  close(): Promise<void>;
}

/**
 * Alipay's signed text: parameters sorted by name, `name=value` joined by `&`, raw (undecoded)
 * values. Requests are checked with empty values left out (Alipay's getSignContent); notifications
 * are signed with them kept (its getSignCheckContentV1, which alipay-sdk's checkNotifySign mirrors).
 */
export function alipaySignContent(params: Record<string, string>, exclude: readonly string[], options: { skipEmpty: boolean }): string {
  return Object.keys(params)
    .filter((key) => !exclude.includes(key) && !(options.skipEmpty && params[key] === ''))
    .sort()
    .map((key) => `${key}=${params[key]}`)
    .join('&');
}

function rsa2Sign(content: string, privateKey: string): string {
  return createSign('RSA-SHA256').update(content, 'utf8').sign(privateKey, 'base64');
}

function digits(count: number): string {
  let out = '';
  for (let i = 0; i < count; i++) out += String(randomInt(10));
  return out;
}

/**
 * The peer as a request handler, for mounting on another server's listener (the product's
 * sandbox serves it at `/sandbox/channels/alipay/gateway.do`): `basePath` is the mount point.
 */
export interface AlipayPeerHandler extends Omit<AlipayPeer, 'url' | 'close'> {
  /** Serves one request: POST <basePath>/gateway.do; anything else 404. */
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** Ends requests left hanging by the `hang` fault. */
  dropHangingRequests(): void;
}

/** A running peer on its own 127.0.0.1 port (tests). */
export async function startAlipayPeer(options: AlipayPeerOptions): Promise<AlipayPeer> {
  const peer = createAlipayPeer(options);
  const server = createServer((req, res) => peer.handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const { handle: _handle, dropHangingRequests: _drop, ...rest } = peer;
  return {
    ...rest,
    url: `http://127.0.0.1:${port}/gateway.do`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

export function createAlipayPeer(options: AlipayPeerOptions & { basePath?: string }): AlipayPeerHandler {
  const gatewayPath = `${(options.basePath ?? '').replace(/\/+$/, '')}/gateway.do`;
  // The sandbox runs the peer on real time; tests pass their own clock.
  const now = options.now ?? (() => new Date());
  const orders = new Map<string, AlipayPeerOrder>();
  const calls: string[] = [];
  const requests: Record<string, string>[] = [];
  const lastAnswers = new Map<string, string>();
  const faults: AlipayPeerFault[] = [];
  const sync = new PeerStateSync<AlipayPeerOrder>(options.store, { order: { map: orders, ref: (o) => o.tradeNo, state: (o) => o.status } });

  function newTradeNo(): string {
    // Alipay's shape: the date, a product/channel prefix, then digits — 28 characters.
    return `${toShanghaiTime(now()).slice(0, 10).replaceAll('-', '')}22001${digits(15)}`;
  }

  /** Past time_expire, an unpaid order is gone: unscanned ones never existed, scanned ones close. */
  function expireIfDue(order: AlipayPeerOrder): void {
    if (!order.timeExpire || toShanghaiTime(now()) <= order.timeExpire) return;
    if (order.status === 'WAIT_BUYER_PAY' || order.status === 'CREATED') order.status = 'TRADE_CLOSED';
  }

  function findTrade(outTradeNo: unknown): AlipayPeerOrder | undefined {
    const order = typeof outTradeNo === 'string' ? orders.get(outTradeNo) : undefined;
    if (!order) return undefined;
    expireIfDue(order);
    // A precreated code nobody scanned is not a trade yet; one that expired unscanned never will be.
    if (order.status === 'CREATED' || !order.tradeNo) return undefined;
    return order;
  }

  const success = (fields: Record<string, unknown>) => ({ code: '10000', msg: 'Success', ...fields });
  const businessFailed = (subCode: string, subMsg: string) => ({ code: '40004', msg: 'Business Failed', sub_code: subCode, sub_msg: subMsg });
  const invalidArguments = (subCode: string, subMsg: string) => ({ code: '40002', msg: 'Invalid Arguments', sub_code: subCode, sub_msg: subMsg });
  const tradeNotExist = () => businessFailed('ACQ.TRADE_NOT_EXIST', '交易不存在');

  type Biz = Record<string, unknown>;
  const handlers: Record<string, (biz: Biz, common: Record<string, string>) => Record<string, unknown>> = {
    'alipay.trade.precreate'(biz, common) {
      const outTradeNo = biz.out_trade_no;
      const subject = biz.subject;
      if (typeof outTradeNo !== 'string' || outTradeNo === '') return invalidArguments('isv.missing-parameter', '缺少必选参数 out_trade_no');
      if (typeof subject !== 'string' || subject === '') return invalidArguments('isv.missing-parameter', '缺少必选参数 subject');
      const totalFen = typeof biz.total_amount === 'string' ? yuanToFen(biz.total_amount) : null;
      if (totalFen === null || totalFen < 1n) return invalidArguments('isv.invalid-parameter', '参数 total_amount 不正确');
      if (totalFen > 10_000_000_000n) return businessFailed('ACQ.TOTAL_FEE_EXCEED', '订单金额超过限额');
      const existing = orders.get(outTradeNo);
      if (existing) {
        expireIfDue(existing);
        if (existing.status === 'TRADE_SUCCESS' || existing.status === 'TRADE_FINISHED') return businessFailed('ACQ.TRADE_HAS_SUCCESS', '交易已被支付');
        if (existing.status === 'TRADE_CLOSED') return businessFailed('ACQ.TRADE_HAS_CLOSE', '交易已经关闭');
        if (existing.totalFen !== totalFen || existing.subject !== subject) return businessFailed('ACQ.CONTEXT_INCONSISTENT', '交易信息被篡改');
        // The same order asked again: Alipay hands back the same code.
        return success({ out_trade_no: outTradeNo, qr_code: existing.qrCode });
      }
      const order: AlipayPeerOrder = {
        outTradeNo,
        totalFen,
        subject,
        notifyUrl: common.notify_url,
        timeExpire: typeof biz.time_expire === 'string' ? biz.time_expire : undefined,
        qrCode: `https://qr.alipay.com/${randomBytes(12).toString('base64url').toLowerCase()}`,
        status: 'CREATED',
        gmtCreate: toShanghaiTime(now()),
        buyerId: `2088${digits(12)}`,
        refunds: new Map(),
        refundedFen: 0n,
      };
      orders.set(outTradeNo, order);
      return success({ out_trade_no: outTradeNo, qr_code: order.qrCode });
    },

    'alipay.trade.query'(biz) {
      const order = findTrade(biz.out_trade_no);
      if (!order) return tradeNotExist();
      const paid = order.gmtPayment !== undefined;
      const total = fenToYuan(order.totalFen);
      return success({
        trade_no: order.tradeNo,
        out_trade_no: order.outTradeNo,
        buyer_logon_id: 'buy***@example.com',
        trade_status: order.status,
        total_amount: total,
        buyer_pay_amount: paid ? total : '0.00',
        invoice_amount: paid ? total : '0.00',
        receipt_amount: paid ? total : '0.00',
        point_amount: '0.00',
        buyer_user_id: order.buyerId,
        ...(paid ? { send_pay_date: order.gmtPayment } : {}),
      });
    },

    'alipay.trade.close'(biz) {
      const order = findTrade(biz.out_trade_no);
      if (!order) return tradeNotExist();
      if (order.status !== 'WAIT_BUYER_PAY') return businessFailed('ACQ.TRADE_STATUS_ERROR', '交易状态不合法');
      order.status = 'TRADE_CLOSED';
      return success({ trade_no: order.tradeNo, out_trade_no: order.outTradeNo });
    },

    'alipay.trade.refund'(biz) {
      const order = findTrade(biz.out_trade_no);
      if (!order) return tradeNotExist();
      const refundFen = typeof biz.refund_amount === 'string' ? yuanToFen(biz.refund_amount) : null;
      if (refundFen === null || refundFen < 1n) return invalidArguments('isv.invalid-parameter', '参数 refund_amount 不正确');
      // Alipay's default out_request_no is the out_trade_no (one full refund); we always send ours.
      const outRequestNo = typeof biz.out_request_no === 'string' && biz.out_request_no !== '' ? biz.out_request_no : order.outTradeNo;
      const answer = (fundChange: 'Y' | 'N', refund: AlipayPeerRefund) =>
        success({
          trade_no: order.tradeNo,
          out_trade_no: order.outTradeNo,
          buyer_logon_id: 'buy***@example.com',
          fund_change: fundChange,
          refund_fee: fenToYuan(order.refundedFen),
          send_back_fee: fundChange === 'Y' ? fenToYuan(refund.refundFen) : '0.00',
          gmt_refund_pay: refund.gmtRefundPay,
          buyer_user_id: order.buyerId,
        });
      const previous = order.refunds.get(outRequestNo);
      if (previous) {
        if (previous.refundFen !== refundFen) return businessFailed('ACQ.DISCORDANT_REPEAT_REQUEST', '请求信息不一致');
        // The same refund asked again: success, but no money moves this time.
        return answer('N', previous);
      }
      if (order.status === 'TRADE_FINISHED') return businessFailed('ACQ.TRADE_NOT_ALLOW_REFUND', '当前交易不允许退款');
      if (order.status !== 'TRADE_SUCCESS') return businessFailed('ACQ.TRADE_STATUS_ERROR', '交易状态不合法');
      if (order.refundedFen + refundFen > order.totalFen) return businessFailed('ACQ.REFUND_AMT_NOT_EQUAL_TOTAL', '退款金额超限');
      const refund: AlipayPeerRefund = { outRequestNo, refundFen, gmtRefundPay: toShanghaiTime(now()) };
      order.refunds.set(outRequestNo, refund);
      order.refundedFen += refundFen;
      // Refunded in full, the trade closes (and stays closed): Alipay's TRADE_CLOSED after payment.
      if (order.refundedFen === order.totalFen) order.status = 'TRADE_CLOSED';
      return answer('Y', refund);
    },

    'alipay.trade.fastpay.refund.query'(biz) {
      const order = findTrade(biz.out_trade_no);
      if (!order) return tradeNotExist();
      const outRequestNo = typeof biz.out_request_no === 'string' ? biz.out_request_no : '';
      const refund = order.refunds.get(outRequestNo);
      // An unknown out_request_no is a successful answer with no refund in it.
      if (!refund) return success({ trade_no: order.tradeNo, out_trade_no: order.outTradeNo });
      const options = Array.isArray(biz.query_options) ? biz.query_options : [];
      return success({
        trade_no: order.tradeNo,
        out_trade_no: order.outTradeNo,
        out_request_no: outRequestNo,
        total_amount: fenToYuan(order.totalFen),
        refund_amount: fenToYuan(refund.refundFen),
        refund_status: 'REFUND_SUCCESS',
        ...(options.includes('gmt_refund_pay') ? { gmt_refund_pay: refund.gmtRefundPay } : {}),
      });
    },
  };

  /** Alipay's answer shape: the member's exact text is what `sign` covers. Alipay escapes `/` as `\/`. */
  function signedAnswer(responseKey: string, member: Record<string, unknown>, fault: AlipayPeerFault | undefined): string {
    const memberText = JSON.stringify(member).replaceAll('/', '\\/');
    if (fault === 'unsigned') return `{"${responseKey}":${memberText}}`;
    const signingKey =
      fault === 'wrong_key' ? generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() : options.alipayPrivateKey;
    const sign = rsa2Sign(memberText, signingKey);
    if (fault === 'tampered' || fault === 'duplicate_member') {
      // Changed after signing, the way a man in the middle would: a value the client acts on.
      const altered = { ...member };
      if ('qr_code' in altered) altered.qr_code = 'https://qr.alipay.com/attacker';
      else if ('trade_status' in altered) altered.trade_status = altered.trade_status === 'TRADE_SUCCESS' ? 'TRADE_CLOSED' : 'TRADE_SUCCESS';
      else altered.msg = `${String(altered.msg)} `;
      const alteredText = JSON.stringify(altered).replaceAll('/', '\\/');
      // JSON.parse keeps the last of two equal keys; a verifier that finds the signed text by
      // string search checks the first. The forged member rides behind the genuine signature.
      if (fault === 'duplicate_member') return `{"${responseKey}":${memberText},"sign":"${sign}","${responseKey}":${alteredText}}`;
      return `{"${responseKey}":${alteredText},"sign":"${sign}"}`;
    }
    return `{"${responseKey}":${memberText},"sign":"${sign}"}`;
  }

  function verifyRequest(params: Record<string, string>): Record<string, unknown> | null {
    if (params.app_id !== options.appId) return invalidArguments('isv.invalid-app-id', '无效的AppID参数');
    if (params.sign_type !== 'RSA2') return invalidArguments('isv.invalid-signature-type', '无效的签名类型');
    if (params.charset && params.charset.toLowerCase() !== 'utf-8') return invalidArguments('isv.invalid-charset', '字符集错误');
    if (!params.sign) return invalidArguments('isv.missing-signature', '缺少签名参数');
    if (!/^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$/.test(params.timestamp ?? '')) return invalidArguments('isv.invalid-timestamp', '非法的时间戳参数');
    const content = alipaySignContent(params, ['sign'], { skipEmpty: true });
    let valid = false;
    try {
      valid = createVerify('RSA-SHA256').update(content, 'utf8').verify(options.appPublicKey, params.sign, 'base64');
    } catch {
      valid = false;
    }
    // Alipay's words, the signed string included, so a developer can diff it against theirs.
    if (!valid) return invalidArguments('isv.invalid-signature', `验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为：${content}`);
    return null;
  }

  async function readBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== gatewayPath || req.method !== 'POST') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    // The SDK puts the common parameters (app_id, method, sign, …) in the query and biz_content in the form body.
    const params: Record<string, string> = Object.fromEntries(url.searchParams);
    for (const [key, value] of new URLSearchParams(await readBody(req))) params[key] = value;
    const method = params.method ?? '';
    calls.push(method);
    requests.push(params);
    const fault = faults.shift();
    const replayed = fault === 'replay' ? lastAnswers.get(method) : undefined;
    if (replayed !== undefined) {
      res.writeHead(200, { 'content-type': 'text/html;charset=utf-8' }).end(replayed);
      return;
    }
    if (fault === 'hang') {
      hanging.add(res); // the socket stays open until close()
      return;
    }
    if (fault === 'http_503') {
      res.writeHead(503, { 'content-type': 'text/html' }).end('<html>503 Service Temporarily Unavailable</html>');
      return;
    }
    if (fault === 'garbage') {
      res.writeHead(200, { 'content-type': 'text/html;charset=utf-8' }).end('<html>maintenance</html>');
      return;
    }
    const responseKey = `${method.replaceAll('.', '_')}_response`;
    let member = verifyRequest(params);
    if (!member) {
      const handler = handlers[method];
      let biz: Biz | null = null;
      try {
        const parsed: unknown = JSON.parse(params.biz_content ?? '{}');
        if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) biz = parsed as Biz;
      } catch {
        biz = null;
      }
      if (!handler) member = invalidArguments('isv.invalid-method', '不存在的方法名');
      else if (!biz) member = invalidArguments('isv.invalid-parameter', 'biz_content 不是 JSON 对象');
      else if (fault === 'system_error') member = businessFailed('ACQ.SYSTEM_ERROR', '系统错误');
      else if (fault === 'service_unavailable') member = { code: '20000', msg: 'Service Currently Unavailable', sub_code: 'isp.unknow-error', sub_msg: '系统繁忙' };
      else {
        const named = biz.out_trade_no;
        member = await sync.run({ order: [typeof named === 'string' ? named : undefined] }, () => handler(biz!, params));
      }
    }
    const answer = signedAnswer(responseKey, member, fault);
    if (fault === undefined) lastAnswers.set(method, answer);
    res.writeHead(200, { 'content-type': 'text/html;charset=utf-8' }).end(answer);
  }

  const hanging = new Set<ServerResponse>();
  function handleRequest(req: IncomingMessage, res: ServerResponse): void {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(error));
    });
  }

  function mustFind(outTradeNo: string): AlipayPeerOrder {
    const order = orders.get(outTradeNo);
    if (!order) throw new Error(`the peer has no order ${outTradeNo}`);
    return order;
  }

  function signNotification(params: Record<string, string>): string {
    // Notifications are signed without sign and sign_type; sign_type is then sent beside sign.
    const sign = rsa2Sign(alipaySignContent(params, ['sign', 'sign_type'], { skipEmpty: false }), options.alipayPrivateKey);
    return new URLSearchParams({ ...params, sign, sign_type: 'RSA2' }).toString();
  }

  function notificationParams(order: AlipayPeerOrder, overrides: Record<string, string | undefined>): Record<string, string> {
    const paid = order.gmtPayment !== undefined;
    const total = fenToYuan(order.totalFen);
    const params: Record<string, string | undefined> = {
      gmt_create: order.gmtCreate,
      charset: 'utf-8',
      seller_email: 'merchant@example.com',
      subject: order.subject,
      buyer_id: order.buyerId,
      invoice_amount: paid ? total : undefined,
      notify_id: `2026${randomBytes(16).toString('hex')}`,
      fund_bill_list: paid ? JSON.stringify([{ amount: total, fundChannel: 'ALIPAYACCOUNT' }]) : undefined,
      notify_type: 'trade_status_sync',
      trade_status: order.status === 'CREATED' ? 'WAIT_BUYER_PAY' : order.status,
      receipt_amount: paid ? total : undefined,
      buyer_pay_amount: paid ? total : undefined,
      app_id: options.appId,
      seller_id: options.sellerId,
      gmt_payment: order.gmtPayment,
      notify_time: toShanghaiTime(now()),
      version: '1.0',
      out_trade_no: order.outTradeNo,
      total_amount: total,
      trade_no: order.tradeNo,
      auth_app_id: options.appId,
      buyer_logon_id: 'buy***@example.com',
      point_amount: paid ? '0.00' : undefined,
      ...overrides,
    };
    return Object.fromEntries(Object.entries(params).filter((entry): entry is [string, string] => entry[1] !== undefined));
  }

  function scan(outTradeNo: string): AlipayPeerOrder {
    const order = mustFind(outTradeNo);
    expireIfDue(order);
    if (order.status === 'CREATED') {
      order.status = 'WAIT_BUYER_PAY';
      order.tradeNo ??= newTradeNo();
    }
    return order;
  }

  return {
    handle: handleRequest,
    dropHangingRequests() {
      for (const res of hanging) res.destroy();
      hanging.clear();
    },
    orders,
    calls,
    requests,
    failNext(fault) {
      faults.push(fault);
    },
    scan,
    async pay(outTradeNo, payOptions = {}) {
      // Paid in the store before the notification leaves: a second payer (another replica) finds it paid.
      const notification = await sync.run({ order: [outTradeNo] }, () => {
        const order = scan(outTradeNo);
        if (order.status !== 'WAIT_BUYER_PAY') throw new Error(`order ${outTradeNo} cannot be paid: ${order.status}`);
        if (!order.notifyUrl) throw new Error(`order ${outTradeNo} has no notify_url`);
        if (payOptions.tradeNo) order.tradeNo = payOptions.tradeNo;
        order.status = 'TRADE_SUCCESS';
        order.gmtPayment = toShanghaiTime(now());
        return { url: order.notifyUrl, body: signNotification(notificationParams(order, {})) };
      });
      const response = await fetch(notification.url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
        body: notification.body,
      });
      return { status: response.status, body: await response.text() };
    },
    knowsOrder: (outTradeNo) => sync.run({ order: [outTradeNo] }, () => orders.has(outTradeNo)),
    buildPaymentNotification(outTradeNo, overrides = {}) {
      return signNotification(notificationParams(mustFind(outTradeNo), overrides));
    },
    buildRefundNotification(outTradeNo, outRequestNo, overrides = {}) {
      const order = mustFind(outTradeNo);
      const refund = order.refunds.get(outRequestNo);
      if (!refund) throw new Error(`order ${outTradeNo} has no refund ${outRequestNo}`);
      return signNotification(
        notificationParams(order, {
          out_biz_no: outRequestNo,
          // The trade's refunded total so far, as Alipay reports it.
          refund_fee: fenToYuan(order.refundedFen),
          gmt_refund: `${refund.gmtRefundPay}.000`,
          ...overrides,
        }),
      );
    },
    signNotification,
  };
}
