import type { CoreContext } from '../../context/index.js';
import { DomainError } from '../../errors/index.js';
import { installPaymentChannels } from '../channels/registry.js';
import { installRefundNotifyUrl } from '../channels/refund-notify-url.js';
import { type PaymentChannelRegistryOptions, type PaymentChannelSetup, createPaymentChannelRegistry } from './registry.js';

/**
 * For hosts other than the server (the CLI, the desktop shell's command host): the same channel
 * clients as the server — live from the environment, sandbox pointed at the peers the server
 * mounts under `/sandbox/channels` at `publicUrl` — installed on `ctx` with the callback address
 * for refunds. Unlike the server, which refuses to start on a broken channel configuration, a
 * host whose configuration does not load still runs every other command: channel use then fails
 * with `channel_not_configured` and the reason.
 */
export async function installHostPaymentChannels(ctx: CoreContext, options: PaymentChannelRegistryOptions): Promise<PaymentChannelSetup | null> {
  try {
    const setup = await createPaymentChannelRegistry(options);
    installPaymentChannels(ctx, setup.channels);
    installRefundNotifyUrl(ctx, (channel) => setup.notifyUrl(channel));
    return setup;
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    installPaymentChannels(ctx, (name) => {
      throw new DomainError('unavailable', 'channel_not_configured', `The ${name} channel could not be set up in this process: ${reason}`);
    });
    return null;
  }
}
