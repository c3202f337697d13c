import { parseAbi } from 'viem';

/**
 * The SubscriptionManager events the listener applies, as human-readable ABI (the contract's
 * source and committed artifact live in server/chain/, which core may not import; a server test
 * checks these signatures against the artifact's ABI).
 */
export const SUBSCRIPTION_MANAGER_EVENTS = parseAbi([
  'event MerchantRegistered(uint256 indexed merchantId, address indexed admin, address receiver, bytes32 metadataHash)',
  'event MerchantActiveChanged(uint256 indexed merchantId, bool active)',
  'event ReceiverUpdated(uint256 indexed merchantId, address receiver)',
]);

export type SubscriptionManagerEventName = (typeof SUBSCRIPTION_MANAGER_EVENTS)[number]['name'];
