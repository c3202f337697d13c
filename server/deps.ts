import type { CoreContext } from '../core/context/index.js';
import type { ServerConfig } from './config.js';
import type { PaymentChannelSetup, SandboxChannelPeers } from './payments/index.js';

/** What route factories and workers are built from. */
export interface ServerDeps {
  ctx: CoreContext;
  config: ServerConfig;
  /** The payment channels (checkout, callbacks, the sandbox); absent in apps built without them (route tests). */
  payments?: PaymentChannelSetup;
  /** The sandbox channel peers, served on this listener before the app (absent: BUFFMONEY_SANDBOX_CHANNELS=0). */
  sandboxPeers?: SandboxChannelPeers;
}
