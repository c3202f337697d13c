import type { CoreContext } from '../../context/index.js';
import { DomainError } from '../../errors/index.js';
import type { ChannelRegistry } from '../shared.js';

/**
 * The channel clients a context uses, installed once by whoever hosts the core (the server, the
 * desktop shell, the CLI, tests) — never built from `process.env` inside core. Live environments
 * get the real WeChat Pay / Alipay clients from configuration; the sandbox environment gets the
 * same real clients pointed at the local peers (channels/wechat/peer.ts, channels/alipay/peer.ts)
 * with sandbox keys, so sandbox traffic exercises exactly the live code paths.
 *
 * The registry itself may throw a DomainError (e.g. `channel_not_configured` when live WeChat Pay
 * has no merchant configuration): the caller's request fails with that code, nothing is written.
 */
// Keyed by the context's secrets object: a transaction's context is a spread copy of its parent
// (core/db/transaction.ts) sharing that object, so code inside `inTransaction` finds the registry too.
const installed = new WeakMap<object, ChannelRegistry>();

export function installPaymentChannels(ctx: CoreContext, registry: ChannelRegistry): void {
  installed.set(ctx.secrets, registry);
}

/** The installed registry; one that always refuses when the host installed none. */
export function paymentChannelsFor(ctx: CoreContext): ChannelRegistry {
  return (
    installed.get(ctx.secrets) ??
    ((name) => {
      throw new DomainError('unavailable', 'channel_not_configured', `No ${name} channel is configured in this process`);
    })
  );
}

/**
 * Sandbox only: makes the sandbox channel pay one of its orders, as a payer scanning the QR would
 * — the channel's peer then sends our callback endpoint a notification signed exactly as the real
 * channel signs it. Installed by the host that runs the sandbox peers (the server); used by
 * `POST /api/v1/sandbox/payment-orders/{id}/pay` and the staff command `sandbox:pay`.
 */
export type SandboxPayer = (order: { channel: 'wechat' | 'alipay'; outTradeNo: string }) => Promise<{ callbackStatus: number }>;

const payers = new WeakMap<object, SandboxPayer>();

export function installSandboxPayer(ctx: CoreContext, payer: SandboxPayer): void {
  payers.set(ctx.secrets, payer);
}

export function sandboxPayerFor(ctx: CoreContext): SandboxPayer {
  return (
    payers.get(ctx.secrets) ??
    (() => {
      throw new DomainError('unavailable', 'sandbox_channels_unavailable', 'The sandbox channels run in the server process; start the server (npm start) and try again');
    })
  );
}
