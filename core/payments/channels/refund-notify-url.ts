import type { CoreContext } from '../../context/index.js';
import type { RefundNotifyUrl } from '../refunds.js';

/**
 * Where the channels send refund notifications, installed by the host that knows its public
 * callback address (the server) — core never builds URLs from `process.env`. Back-office refund
 * commands (`refunds:create`, `refunds:retry`, `payments:reconcile`) read it here; a process with
 * none installed refuses `refunds:create` / `refunds:retry` with `refund_notify_url_not_configured`
 * and its reconciliation leaves `requested` refunds to the server's scheduler.
 */
// Keyed like the channel registry (channels/registry.ts): transaction contexts share `secrets`.
const installed = new WeakMap<object, RefundNotifyUrl>();

export function installRefundNotifyUrl(ctx: CoreContext, url: RefundNotifyUrl): void {
  installed.set(ctx.secrets, url);
}

export function refundNotifyUrlFor(ctx: CoreContext): RefundNotifyUrl | undefined {
  return installed.get(ctx.secrets);
}
