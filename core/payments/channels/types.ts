/**
 * The one interface every CNY collection channel implements (WeChat Pay Native, Alipay
 * precreate; the sandbox is the real clients talking to local peers with sandbox keys).
 *
 * Amounts are CNY fen as bigint, never floats: WeChat Pay speaks fen integers, Alipay yuan with
 * two decimals ("12.34"); each client converts at its edge. Times are ISO-8601 UTC strings.
 *
 * A channel client knows its own configuration (merchant ids, keys, gateway URL) and nothing of
 * the database: the payments core decides what to create, and applies what a verified
 * notification says, in its own transaction.
 */
export type ChannelName = 'wechat' | 'alipay';

export interface CreateChannelOrderInput {
  /** Our out-trade number: unique per attempt (a new order after expiry gets a new one). 6–32 chars of [A-Za-z0-9_-]. */
  outTradeNo: string;
  amountFen: bigint;
  /** What the payer sees on the channel ("<merchant> invoice <number>"), at most 127 bytes for WeChat Pay. */
  description: string;
  /** When the channel stops accepting payment for this order. */
  expiresAt: string;
  /** Where the channel sends the payment notification. */
  notifyUrl: string;
}

export interface CreatedChannelOrder {
  /** The QR content the payer scans: WeChat Pay's `code_url`, Alipay's `qr_code`. */
  codeUrl: string;
}

/** What the channel says about an order when asked (query). */
export type ChannelOrderState =
  | { state: 'open' }
  | { state: 'paid'; transactionId: string; amountFen: bigint; paidAt: string }
  | { state: 'closed' }
  | { state: 'refunded'; transactionId: string; amountFen: bigint }
  | { state: 'not_found' };

export interface ChannelRefundInput {
  outTradeNo: string;
  /** Our refund number: the same number on every retry of one refund, so the channel refunds once. */
  outRefundNo: string;
  refundFen: bigint;
  /** The order's total (WeChat Pay requires it). */
  totalFen: bigint;
  reason: string;
  /** Where the channel sends the refund notification (WeChat Pay; Alipay answers synchronously). */
  notifyUrl: string;
}

export type ChannelRefundResult =
  | { state: 'succeeded'; refundId: string; refundFen: bigint; succeededAt?: string }
  | { state: 'pending'; refundId: string; refundFen: bigint }
  | { state: 'failed'; reason: string };

/** A notification whose signature (and, for WeChat Pay, decryption) checked out. */
export type VerifiedNotification =
  | {
      kind: 'payment';
      channel: ChannelName;
      outTradeNo: string;
      /** The channel's own transaction id: the exactly-once key. */
      transactionId: string;
      amountFen: bigint;
      /** true for WeChat `SUCCESS`, Alipay `TRADE_SUCCESS` / `TRADE_FINISHED`. */
      paid: boolean;
      /** The channel's own state word, kept for the record. */
      tradeState: string;
      paidAt?: string;
    }
  | {
      kind: 'refund';
      channel: ChannelName;
      outTradeNo: string;
      outRefundNo: string;
      refundId: string;
      /** This refund's amount — or, when `refundFenIsTradeTotal`, everything refunded on the trade so far. */
      refundFen: bigint;
      /**
       * Alipay states only the trade's running refunded total (`refund_fee`), not this refund's
       * amount: the payments core subtracts the trade's other succeeded refunds.
       */
      refundFenIsTradeTotal?: true;
      /** SUCCESS → succeeded; CLOSED / ABNORMAL → failed. */
      state: 'succeeded' | 'failed';
      channelStatus: string;
    };

/** Why a notification was refused. The callback answers `httpStatus` so the channel retries (or not). */
export class NotificationRejected extends Error {
  constructor(
    /** Stable code: `signature_invalid`, `timestamp_out_of_window`, `signature_probe`, `decrypt_failed`, `merchant_mismatch`, `malformed`. */
    readonly code: string,
    message: string,
    readonly httpStatus = 401,
  ) {
    super(message);
    this.name = 'NotificationRejected';
  }
}

/** An incoming callback as the HTTP layer received it: headers lower-cased, the body untouched. */
export interface IncomingNotification {
  headers: Record<string, string | undefined>;
  rawBody: Buffer;
}

/** What the HTTP layer writes back to the channel. */
export interface ChannelReply {
  status: number;
  contentType?: string;
  body?: string;
}

export interface PaymentChannel {
  readonly name: ChannelName;
  createOrder(input: CreateChannelOrderInput): Promise<CreatedChannelOrder>;
  queryOrder(outTradeNo: string): Promise<ChannelOrderState>;
  /** Idempotent: closing an order already closed is not an error. */
  closeOrder(outTradeNo: string): Promise<void>;
  /** Idempotent on `outRefundNo`: a retry returns the first call's refund. */
  refund(input: ChannelRefundInput): Promise<ChannelRefundResult>;
  queryRefund(outTradeNo: string, outRefundNo: string): Promise<ChannelRefundResult | { state: 'not_found' }>;
  /** Verify (and decrypt) a notification; throws `NotificationRejected`. Pure: no I/O, time from `now`. */
  verifyNotification(incoming: IncomingNotification, now: Date): VerifiedNotification;
  /** The reply that tells the channel the notification was taken (WeChat Pay: 204; Alipay: `success`). */
  acknowledge(): ChannelReply;
  /** The reply that asks the channel to send it again later. */
  refuse(message: string, status?: number): ChannelReply;
}

/** Raised by a client when the channel answers with an error or cannot be reached. */
export class ChannelError extends Error {
  constructor(
    readonly channel: ChannelName,
    /** The channel's own error code (e.g. `ORDERPAID`, `ACQ.TRADE_HAS_SUCCESS`), or `network` / `bad_response`. */
    readonly channelCode: string,
    message: string,
    /** True when retrying the same call may succeed (network, 5xx, SYSTEM_ERROR). */
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'ChannelError';
  }
}
