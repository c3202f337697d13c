import { RegisterIntentInput, RegisterIntentResult, assertRegisterIntentFieldsPresent, registerIntent } from '../../core/chain/intent.js';
import type { ServerDeps } from '../deps.js';
import { type RouteSpec, defineRoute } from '../http/route.js';

/** POST /merchants/register-intent (merchants API, "V2: On-chain registration"). */
export function registerIntentRoutes(deps: ServerDeps): RouteSpec[] {
  const { chains } = deps.config;
  return [
    defineRoute({
      method: 'post',
      path: '/merchants/register-intent',
      operationId: 'registerIntent',
      summary: 'Build the registerMerchant calldata for the merchant’s wallet to sign',
      description:
        'Computes metadataHash = keccak256 of the RFC 8785 canonical JSON of `metadata`, encodes SubscriptionManager.registerMerchant(receiver, metadataHash) and stores (receiverAddress, metadataHash, chainId) as the pending intent; a later call overwrites it, and only the latest can match the MerchantRegistered event. ' +
        'The V2 fields of GET /merchants/me stay null until the chain listener confirms the registration. ' +
        'The receiver decides where settlements go, so this is a destination change: the dashboard JWT (with a fresh `otp` once 2FA is enrolled: 401 otp_required / otp_invalid) or a live API key, never a sandbox key (403 destination_change_forbidden). ' +
        '409 merchant_already_registered once registered on chain (change the receiver on the contract); 409 metadata_hash_in_use when another merchant’s registration on the chain commits to the same metadata.',
      tags: ['Merchants'],
      auth: { jwt: true, apiKey: true },
      legacyV1: true,
      bodyLimit: '64kb',
      body: RegisterIntentInput,
      precheckBody: assertRegisterIntentFieldsPresent,
      responses: { 200: { description: 'What the wallet sends: `to`, `data: encodedTx`, `chainId`', schema: RegisterIntentResult } },
      errors: [400, 401, 403, 404, 409],
      errorCodes: {
        400: [
          'receiver_address_required',
          'chain_id_required',
          'metadata_required',
          'chain_unsupported',
          'subscription_manager_not_set',
          'receiver_address_invalid',
          'metadata_invalid',
          'metadata_too_large',
        ],
        401: ['otp_required', 'otp_invalid'],
        403: ['destination_change_forbidden'],
        409: ['merchant_already_registered', 'metadata_hash_in_use'],
      },
      handler: async ({ ctx, auth, body }) => ({ status: 200, body: await registerIntent(ctx, auth!.merchantId, body, chains, auth!) }),
    }),
  ];
}
