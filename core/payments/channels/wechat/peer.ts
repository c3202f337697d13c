/**
 * A local WeChat Pay API v3 server: the other side of client.ts, for tests and for the
 * product's sandbox. It checks our `Authorization` like WeChat Pay does, keeps orders and
 * refunds with WeChat Pay's rules, signs every answer with its platform key, and sends signed,
 * encrypted notifications to the order's notify_url when told a payer paid.
 *
 * It plays an outside system, so it draws its own randomness (ids, nonces, code_urls); its clock
 * is injectable for tests of time windows.
 */
import { generateKeyPairSync, type KeyObject, randomInt, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  encryptResource,
  loadPrivateKey,
  loadPublicKeys,
  parseAuthorizationHeader,
  requestMessage,
  TIMESTAMP_TOLERANCE_SECONDS,
  verifyMessage,
  wechatpaySignatureHeaders,
} from './signing.js';
import { type PeerStateStore, PeerStateSync, type PeerTouch } from '../peer-state.js';
import { toBeijingRfc3339 } from './time.js';

export interface WechatPayPeerOptions {
  /** Our merchant API keys, by certificate serial: what `serial_no` in Authorization may name. */
  merchantPublicKeys: Record<string, string | KeyObject>;
  platformPrivateKey: string | KeyObject;
  /** Sent as `Wechatpay-Serial`: a platform certificate serial or a `PUB_KEY_ID_…`. */
  platformSerial: string;
  apiV3Key: string;
  mchid: string;
  appid: string;
  now?: () => Date;
  /** Where orders and refunds are kept beyond this process (the product's sandbox: the database); the Maps only without. */
  store?: PeerStateStore;
}

export type PeerTradeState = 'NOTPAY' | 'SUCCESS' | 'CLOSED' | 'REFUND';
export type PeerRefundStatus = 'PROCESSING' | 'SUCCESS' | 'CLOSED' | 'ABNORMAL';

export interface PeerOrder {
  outTradeNo: string;
  description: string;
  totalFen: bigint;
  notifyUrl: string;
  /** RFC 3339 +08:00, as received. */
  timeExpire?: string;
  codeUrl: string;
  tradeState: PeerTradeState;
  transactionId?: string;
  payerTotalFen?: bigint;
  /** RFC 3339 +08:00. */
  successTime?: string;
  /** Refunds that are not CLOSED: what can no longer be refunded. */
  refundedFen: bigint;
}

export interface PeerRefund {
  refundId: string;
  outRefundNo: string;
  outTradeNo: string;
  transactionId: string;
  refundFen: bigint;
  totalFen: bigint;
  reason?: string;
  notifyUrl?: string;
  status: PeerRefundStatus;
  createTime: string;
  successTime?: string;
}

/** Makes the next answer misbehave, to test the client's defences. */
export type PeerFault =
  | { kind: 'unsigned' }
  | { kind: 'tampered' }
  | { kind: 'wrong_key' }
  | { kind: 'stale'; seconds: number }
  | { kind: 'error'; status: number; code: string; message?: string };

export interface BuiltNotification {
  /** Lower-cased, as the HTTP layer hands them to `verifyNotification`. */
  headers: Record<string, string>;
  body: string;
}

export interface NotificationOptions {
  /** Sign at this time instead of now (stale notifications). */
  signedAt?: Date;
  /** Fields merged over the decrypted resource (wrong mchid, other states…). */
  resource?: Record<string, unknown>;
}

export interface WechatPayPeer {
  url: string;
  close(): Promise<void>;
  orders: ReadonlyMap<string, PeerOrder>;
  refunds: ReadonlyMap<string, PeerRefund>;
  /** The last 1,000 requests received, in order, and whether their Authorization verified. */
  requests: ReadonlyArray<{ method: string; path: string; authorized: boolean }>;
  /** The payer pays: the order turns SUCCESS and the notification is sent; resolves to the HTTP status the notify_url answered. */
  pay(outTradeNo: string, options?: { transactionId?: string; payerTotalFen?: bigint }): Promise<number>;
  /** A refund reaches its end (SUCCESS by default) and its notification is sent; resolves to the HTTP status. */
  notifyRefund(outRefundNo: string, options?: { status?: 'SUCCESS' | 'CLOSED' | 'ABNORMAL' }): Promise<number>;
  /** Whether the peer has the order (in its store, when it has one). */
  knowsOrder(outTradeNo: string): Promise<boolean>;
  /** The out-refund numbers of refunds still PROCESSING. */
  processingRefunds(): Promise<string[]>;
  buildPaymentNotification(outTradeNo: string, options?: NotificationOptions): BuiltNotification;
  buildRefundNotification(outRefundNo: string, options?: NotificationOptions): BuiltNotification;
  injectFault(fault: PeerFault): void;
}

const MAX_BODY_BYTES = 64 * 1024;
const MAX_LOGGED_REQUESTS = 1_000;
const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function randomString(length: number, alphabet = ALPHANUMERIC): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

function digits(length: number): string {
  return randomString(length, '0123456789');
}

class PeerHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function fail(status: number, code: string, message: string): never {
  throw new PeerHttpError(status, code, message);
}

function asRecord(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(400, 'PARAM_ERROR', `${what} must be an object`);
  return value as Record<string, unknown>;
}

function requiredString(body: Record<string, unknown>, field: string, pattern?: RegExp): string {
  const value = body[field];
  if (typeof value !== 'string' || value === '' || (pattern && !pattern.test(value))) fail(400, 'PARAM_ERROR', `${field} is missing or invalid`);
  return value as string;
}

function fenField(body: Record<string, unknown>, field: string): bigint {
  const value = body[field];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) fail(400, 'PARAM_ERROR', `amount.${field} must be a positive integer of fen`);
  return BigInt(value as number);
}

/**
 * The peer as a request handler, for mounting on another server's listener (the product's
 * sandbox serves it under `/sandbox/channels/wechat`). `basePath` is the mount point: requests
 * are routed by the path below it, and their signatures checked over the full path, as the
 * client signed it (a client whose base URL is `<server>/sandbox/channels/wechat`).
 */
export interface WechatPayPeerHandler extends Omit<WechatPayPeer, 'url' | 'close'> {
  /** Serves one request (any path: an unknown one is answered 404 NOT_FOUND, signed). */
  handle(req: IncomingMessage, res: ServerResponse): void;
}

/** A running peer on its own 127.0.0.1 port (tests). */
export async function startWechatPayPeer(options: WechatPayPeerOptions): Promise<WechatPayPeer> {
  const peer = createWechatPayPeer(options);
  const server = createServer((req, res) => peer.handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    ...peer,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

export function createWechatPayPeer(options: WechatPayPeerOptions & { basePath?: string }): WechatPayPeerHandler {
  const basePath = (options.basePath ?? '').replace(/\/+$/, '');
  const now = options.now ?? (() => new Date());
  const merchantKeys = loadPublicKeys(options.merchantPublicKeys);
  const platformKey = loadPrivateKey(options.platformPrivateKey);
  const orders = new Map<string, PeerOrder>();
  const refunds = new Map<string, PeerRefund>();
  const requests: Array<{ method: string; path: string; authorized: boolean }> = [];
  const faults: PeerFault[] = [];
  const unixNow = () => Math.floor(now().getTime() / 1000);
  const sync = new PeerStateSync<PeerOrder, PeerRefund>(options.store, {
    order: { map: orders, ref: (o) => o.transactionId, state: (o) => o.tradeState },
    refund: { map: refunds, state: (r) => r.status },
  });

  /** The orders and refunds a request names (path or body), for the store to load first. */
  function touchedBy(pathname: string, body: string): PeerTouch {
    let json: Record<string, unknown> = {};
    try {
      const parsed: unknown = JSON.parse(body);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) json = parsed as Record<string, unknown>;
    } catch {
      // Not JSON: route() refuses it.
    }
    const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
    const decoded = (v: string | undefined) => {
      try {
        return v === undefined ? undefined : decodeURIComponent(v);
      } catch {
        return undefined;
      }
    };
    return {
      order: [decoded(/^\/v3\/pay\/transactions\/out-trade-no\/([^/]+)/.exec(pathname)?.[1]), text(json.out_trade_no)],
      refund: [decoded(/^\/v3\/refund\/domestic\/refunds\/([^/]+)$/.exec(pathname)?.[1]), text(json.out_refund_no)],
      orderRef: text(json.transaction_id),
    };
  }

  function signedHeaders(body: string, at = unixNow()): Record<string, string> {
    return wechatpaySignatureHeaders({ body, privateKey: platformKey, serial: options.platformSerial, timestamp: at, nonce: randomString(32) });
  }

  function send(res: ServerResponse, status: number, payload?: unknown): void {
    let body = payload === undefined ? '' : JSON.stringify(payload);
    const fault = faults.shift();
    if (fault?.kind === 'error') {
      status = fault.status;
      body = JSON.stringify({ code: fault.code, message: fault.message ?? fault.code });
    }
    let headers: Record<string, string> = { 'request-id': randomUUID() };
    if (fault?.kind !== 'unsigned') headers = { ...headers, ...signedHeaders(body, fault?.kind === 'stale' ? unixNow() - fault.seconds : undefined) };
    if (fault?.kind === 'wrong_key') {
      const stranger = wechatpaySignatureHeaders({
        body,
        privateKey: loadPrivateKey(ephemeralKey()),
        serial: options.platformSerial,
        timestamp: unixNow(),
        nonce: randomString(32),
      });
      headers = { ...headers, ...stranger };
    }
    if (fault?.kind === 'tampered' && body !== '') body = body.replace(/"(\w+)":"([^"]*)"/, '"$1":"$2X"');
    if (body !== '') headers['content-type'] = 'application/json';
    res.writeHead(status, headers).end(body);
  }

  function authorize(req: IncomingMessage, path: string, body: string): void {
    const auth = parseAuthorizationHeader(req.headers.authorization);
    if (!auth) fail(401, 'SIGN_ERROR', 'Authorization is missing or not WECHATPAY2-SHA256-RSA2048');
    if (auth.mchid !== options.mchid) fail(401, 'SIGN_ERROR', 'mchid in Authorization is unknown');
    const key = merchantKeys.get(auth.serialNo);
    if (!key) fail(401, 'SIGN_ERROR', 'serial_no names no merchant certificate');
    if (!/^\d{1,12}$/.test(auth.timestamp) || Math.abs(unixNow() - Number(auth.timestamp)) > TIMESTAMP_TOLERANCE_SECONDS) fail(401, 'SIGN_ERROR', 'timestamp is out of window');
    if (auth.nonce.length > 32) fail(401, 'SIGN_ERROR', 'nonce_str is longer than 32');
    if (!verifyMessage(requestMessage(req.method ?? '', path, auth.timestamp, auth.nonce, body), auth.signature, key)) fail(401, 'SIGN_ERROR', 'signature does not verify');
  }

  function orderJson(order: PeerOrder): Record<string, unknown> {
    const paid = order.tradeState === 'SUCCESS' || order.tradeState === 'REFUND';
    return {
      appid: options.appid,
      mchid: options.mchid,
      out_trade_no: order.outTradeNo,
      ...(paid ? { transaction_id: order.transactionId, bank_type: 'OTHERS', success_time: order.successTime, payer: { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' } } : {}),
      trade_type: 'NATIVE',
      trade_state: order.tradeState,
      trade_state_desc: { NOTPAY: '未支付', SUCCESS: '支付成功', CLOSED: '已关闭', REFUND: '转入退款' }[order.tradeState],
      attach: '',
      amount: paid
        ? { total: Number(order.totalFen), payer_total: Number(order.payerTotalFen ?? order.totalFen), currency: 'CNY', payer_currency: 'CNY' }
        : { total: Number(order.totalFen), currency: 'CNY' },
    };
  }

  function refundJson(refund: PeerRefund): Record<string, unknown> {
    return {
      refund_id: refund.refundId,
      out_refund_no: refund.outRefundNo,
      transaction_id: refund.transactionId,
      out_trade_no: refund.outTradeNo,
      channel: 'ORIGINAL',
      user_received_account: '支付用户零钱',
      ...(refund.successTime ? { success_time: refund.successTime } : {}),
      create_time: refund.createTime,
      status: refund.status,
      funds_account: 'AVAILABLE',
      amount: {
        total: Number(refund.totalFen),
        refund: Number(refund.refundFen),
        payer_total: Number(refund.totalFen),
        payer_refund: Number(refund.refundFen),
        settlement_refund: Number(refund.refundFen),
        settlement_total: Number(refund.totalFen),
        discount_refund: 0,
        currency: 'CNY',
      },
      promotion_detail: [],
    };
  }

  function createNativeOrder(body: Record<string, unknown>): Record<string, unknown> {
    if (requiredString(body, 'mchid') !== options.mchid) fail(400, 'PARAM_ERROR', 'mchid does not match the Authorization');
    if (requiredString(body, 'appid') !== options.appid) fail(400, 'APPID_MCHID_NOT_MATCH', 'appid and mchid do not match');
    const outTradeNo = requiredString(body, 'out_trade_no', /^[A-Za-z0-9_\-|*]{6,32}$/);
    const description = requiredString(body, 'description');
    if (Buffer.byteLength(description, 'utf8') > 127) fail(400, 'PARAM_ERROR', 'description is longer than 127 bytes');
    const notifyUrl = requiredString(body, 'notify_url', /^https?:\/\/[^\s?#]+$/);
    const timeExpire = body.time_expire === undefined ? undefined : requiredString(body, 'time_expire', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$/);
    const amount = asRecord(body.amount, 'amount');
    const totalFen = fenField(amount, 'total');
    if (amount.currency !== undefined && amount.currency !== 'CNY') fail(400, 'PARAM_ERROR', 'currency must be CNY');

    const existing = orders.get(outTradeNo);
    if (existing) {
      if (existing.tradeState === 'SUCCESS' || existing.tradeState === 'REFUND') fail(403, 'ORDERPAID', '该订单已支付');
      if (existing.tradeState === 'CLOSED') fail(400, 'ORDER_CLOSED', '该订单已关闭');
      // A retry with the same parameters gets the same QR; different ones reuse a number.
      if (existing.totalFen !== totalFen || existing.description !== description) fail(400, 'INVALID_REQUEST', '201 商户订单号重复');
      return { code_url: existing.codeUrl };
    }
    const order: PeerOrder = {
      outTradeNo,
      description,
      totalFen,
      notifyUrl,
      timeExpire,
      codeUrl: `weixin://wxpay/bizpayurl?pr=${randomString(7)}`,
      tradeState: 'NOTPAY',
      refundedFen: 0n,
    };
    orders.set(outTradeNo, order);
    return { code_url: order.codeUrl };
  }

  function closeOrder(outTradeNo: string, body: Record<string, unknown>): void {
    if (requiredString(body, 'mchid') !== options.mchid) fail(400, 'PARAM_ERROR', 'mchid does not match the Authorization');
    const order = orders.get(outTradeNo) ?? fail(404, 'ORDER_NOT_EXIST', '订单不存在');
    if (order.tradeState === 'SUCCESS' || order.tradeState === 'REFUND') fail(403, 'ORDERPAID', '该订单已支付');
    order.tradeState = 'CLOSED';
  }

  function createRefund(body: Record<string, unknown>): PeerRefund {
    const outRefundNo = requiredString(body, 'out_refund_no', /^[A-Za-z0-9_\-|*@]{1,64}$/);
    const outTradeNo =
      typeof body.transaction_id === 'string'
        ? ([...orders.values()].find((o) => o.transactionId === body.transaction_id)?.outTradeNo ?? fail(404, 'RESOURCE_NOT_EXISTS', '订单不存在'))
        : requiredString(body, 'out_trade_no');
    const amount = asRecord(body.amount, 'amount');
    const refundFen = fenField(amount, 'refund');
    const totalFen = fenField(amount, 'total');
    if (amount.currency !== 'CNY') fail(400, 'PARAM_ERROR', 'amount.currency must be CNY');
    const reason = body.reason === undefined ? undefined : requiredString(body, 'reason');
    const notifyUrl = body.notify_url === undefined ? undefined : requiredString(body, 'notify_url', /^https?:\/\/[^\s?#]+$/);

    const existing = refunds.get(outRefundNo);
    if (existing) {
      // The same out_refund_no is the same refund: a retry must not refund twice.
      if (existing.outTradeNo !== outTradeNo || existing.refundFen !== refundFen) fail(400, 'INVALID_REQUEST', '退款单号已存在，且与原请求参数不一致');
      return existing;
    }
    const order = orders.get(outTradeNo) ?? fail(404, 'RESOURCE_NOT_EXISTS', '订单不存在');
    if (order.tradeState !== 'SUCCESS' && order.tradeState !== 'REFUND') fail(400, 'INVALID_REQUEST', '订单未支付，不能退款');
    if (totalFen !== order.totalFen) fail(400, 'PARAM_ERROR', '订单金额与原订单不一致');
    if (order.refundedFen + refundFen > order.totalFen) fail(400, 'INVALID_REQUEST', '申请退款金额超过订单可退金额');
    const refund: PeerRefund = {
      refundId: `50${digits(27)}`,
      outRefundNo,
      outTradeNo,
      transactionId: order.transactionId!,
      refundFen,
      totalFen,
      reason,
      notifyUrl,
      status: 'PROCESSING',
      createTime: toBeijingRfc3339(now()),
    };
    refunds.set(outRefundNo, refund);
    order.refundedFen += refundFen;
    order.tradeState = 'REFUND';
    return refund;
  }

  async function route(req: IncomingMessage, path: string, body: string): Promise<{ status: number; payload?: unknown }> {
    const url = new URL(path, 'http://peer.invalid');
    const json = (): Record<string, unknown> => {
      try {
        return asRecord(JSON.parse(body), 'the body');
      } catch (error) {
        if (error instanceof PeerHttpError) throw error;
        return fail(400, 'PARAM_ERROR', 'the body is not JSON');
      }
    };
    let match: RegExpExecArray | null;
    if (req.method === 'POST' && url.pathname === '/v3/pay/transactions/native') return { status: 200, payload: createNativeOrder(json()) };
    if (req.method === 'GET' && (match = /^\/v3\/pay\/transactions\/out-trade-no\/([^/]+)$/.exec(url.pathname))) {
      if (url.searchParams.get('mchid') !== options.mchid) fail(400, 'PARAM_ERROR', 'mchid is missing or not ours');
      const order = orders.get(decodeURIComponent(match[1])) ?? fail(404, 'ORDER_NOT_EXIST', '订单不存在');
      return { status: 200, payload: orderJson(order) };
    }
    if (req.method === 'POST' && (match = /^\/v3\/pay\/transactions\/out-trade-no\/([^/]+)\/close$/.exec(url.pathname))) {
      closeOrder(decodeURIComponent(match[1]), json());
      return { status: 204 };
    }
    if (req.method === 'POST' && url.pathname === '/v3/refund/domestic/refunds') return { status: 200, payload: refundJson(createRefund(json())) };
    if (req.method === 'GET' && (match = /^\/v3\/refund\/domestic\/refunds\/([^/]+)$/.exec(url.pathname))) {
      const refund = refunds.get(decodeURIComponent(match[1])) ?? fail(404, 'RESOURCE_NOT_EXISTS', '退款单不存在');
      return { status: 200, payload: refundJson(refund) };
    }
    return fail(404, 'NOT_FOUND', `No such API: ${req.method} ${url.pathname}`);
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => {
      // Signed over the full path; routed by the part below the mount point.
      const signedPath = req.url ?? '/';
      const path = basePath && signedPath.startsWith(basePath) ? signedPath.slice(basePath.length) || '/' : signedPath;
      const body = Buffer.concat(chunks).toString('utf8');
      const entry = { method: req.method ?? '', path, authorized: false };
      requests.push(entry);
      // A sandbox peer runs for days: keep the recent requests only.
      if (requests.length > MAX_LOGGED_REQUESTS) requests.splice(0, requests.length - MAX_LOGGED_REQUESTS);
      (async () => {
        if (size > MAX_BODY_BYTES) fail(413, 'PARAM_ERROR', 'body too large');
        authorize(req, signedPath, body);
        entry.authorized = true;
        return sync.run(touchedBy(new URL(path, 'http://peer.invalid').pathname, body), () => route(req, path, body));
      })().then(
        ({ status, payload }) => send(res, status, payload),
        (error: unknown) => {
          if (error instanceof PeerHttpError) send(res, error.status, { code: error.code, message: error.message });
          else send(res, 500, { code: 'SYSTEM_ERROR', message: error instanceof Error ? error.message : String(error) });
        },
      );
    });
  }

  function buildNotification(eventType: string, summary: string, originalType: 'transaction' | 'refund', resource: Record<string, unknown>, signedAt?: Date): BuiltNotification {
    const nonce = randomString(12);
    const body = JSON.stringify({
      id: randomUUID(),
      create_time: toBeijingRfc3339(now()),
      resource_type: 'encrypt-resource',
      event_type: eventType,
      summary,
      resource: {
        original_type: originalType,
        algorithm: 'AEAD_AES_256_GCM',
        ciphertext: encryptResource(JSON.stringify(resource), options.apiV3Key, nonce, originalType),
        associated_data: originalType,
        nonce,
      },
    });
    const at = signedAt ? Math.floor(signedAt.getTime() / 1000) : unixNow();
    return { headers: { ...signedHeaders(body, at), 'content-type': 'application/json' }, body };
  }

  function buildPaymentNotification(outTradeNo: string, notification: NotificationOptions = {}): BuiltNotification {
    const order = orders.get(outTradeNo);
    if (!order?.transactionId) throw new Error(`Order ${outTradeNo} has not been paid`);
    const { amount: _unused, ...paid } = orderJson(order);
    const resource = {
      ...paid,
      // TRANSACTION.SUCCESS always says SUCCESS, even when the order has since turned REFUND.
      trade_state: 'SUCCESS',
      trade_state_desc: '支付成功',
      amount: { total: Number(order.totalFen), payer_total: Number(order.payerTotalFen ?? order.totalFen), currency: 'CNY', payer_currency: 'CNY' },
      ...notification.resource,
    };
    return buildNotification('TRANSACTION.SUCCESS', '支付成功', 'transaction', resource, notification.signedAt);
  }

  function buildRefundNotification(outRefundNo: string, notification: NotificationOptions = {}): BuiltNotification {
    const refund = refunds.get(outRefundNo);
    if (!refund || refund.status === 'PROCESSING') throw new Error(`Refund ${outRefundNo} has not ended`);
    const resource = {
      mchid: options.mchid,
      out_trade_no: refund.outTradeNo,
      transaction_id: refund.transactionId,
      out_refund_no: refund.outRefundNo,
      refund_id: refund.refundId,
      refund_status: refund.status,
      ...(refund.successTime ? { success_time: refund.successTime } : {}),
      user_received_account: '支付用户零钱',
      amount: { total: Number(refund.totalFen), refund: Number(refund.refundFen), payer_total: Number(refund.totalFen), payer_refund: Number(refund.refundFen) },
      ...notification.resource,
    };
    const summary = { SUCCESS: '退款成功', CLOSED: '退款关闭', ABNORMAL: '退款异常' }[refund.status];
    return buildNotification(`REFUND.${refund.status}`, summary, 'refund', resource, notification.signedAt);
  }

  async function deliver(url: string, notification: BuiltNotification): Promise<number> {
    const response = await fetch(url, {
      method: 'POST',
      headers: { ...notification.headers, 'user-agent': 'Mozilla/4.0' },
      body: notification.body,
      signal: AbortSignal.timeout(10_000),
    });
    await response.arrayBuffer();
    return response.status;
  }

  return {
    handle,
    orders,
    refunds,
    requests,
    async pay(outTradeNo, payment = {}) {
      // Paid in the store before the notification leaves: a second payer (another replica) finds it paid.
      const notification = await sync.run({ order: [outTradeNo] }, () => {
        const order = orders.get(outTradeNo);
        if (!order) throw new Error(`No order ${outTradeNo}`);
        if (order.tradeState !== 'NOTPAY') throw new Error(`Order ${outTradeNo} is ${order.tradeState}: it cannot be paid`);
        if (order.timeExpire && now().getTime() > new Date(order.timeExpire).getTime()) throw new Error(`Order ${outTradeNo} expired at ${order.timeExpire}`);
        order.tradeState = 'SUCCESS';
        order.transactionId = payment.transactionId ?? `4200${digits(24)}`;
        order.payerTotalFen = payment.payerTotalFen ?? order.totalFen;
        order.successTime = toBeijingRfc3339(now());
        return { url: order.notifyUrl, built: buildPaymentNotification(outTradeNo) };
      });
      return deliver(notification.url, notification.built);
    },
    async notifyRefund(outRefundNo, ending = {}) {
      const outTradeNo = await sync.run({ refund: [outRefundNo] }, () => refunds.get(outRefundNo)?.outTradeNo);
      const notification = await sync.run({ refund: [outRefundNo], order: [outTradeNo] }, () => {
        const refund = refunds.get(outRefundNo);
        if (!refund) throw new Error(`No refund ${outRefundNo}`);
        if (refund.status !== 'PROCESSING') throw new Error(`Refund ${outRefundNo} is already ${refund.status}`);
        refund.status = ending.status ?? 'SUCCESS';
        if (refund.status === 'SUCCESS') refund.successTime = toBeijingRfc3339(now());
        // A closed refund gives its amount back to the order's refundable balance.
        if (refund.status === 'CLOSED') orders.get(refund.outTradeNo)!.refundedFen -= refund.refundFen;
        return refund.notifyUrl ? { url: refund.notifyUrl, built: buildRefundNotification(outRefundNo) } : null;
      });
      return notification ? deliver(notification.url, notification.built) : 0;
    },
    knowsOrder: (outTradeNo) => sync.run({ order: [outTradeNo] }, () => orders.has(outTradeNo)),
    processingRefunds: () => sync.keysInState('refund', 'PROCESSING'),
    buildPaymentNotification,
    buildRefundNotification,
    injectFault(fault) {
      faults.push(fault);
    },
  };
}

let cachedEphemeralKey: KeyObject | undefined;
/** A key nobody trusts, for the `wrong_key` fault. Generated once: RSA generation is slow. */
function ephemeralKey(): KeyObject {
  if (!cachedEphemeralKey) cachedEphemeralKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  return cachedEphemeralKey;
}
