import { type Address, type Hex, encodeFunctionData } from 'viem';
import { z } from 'zod';
import type { CoreContext } from '../context/index.js';
import { inTransaction } from '../db/transaction.js';
import { conflict, forbidden, invalidInput } from '../errors/index.js';
import { type MerchantCredential, requireFreshOtp } from '../merchants/step-up.js';
import { loadMerchantRow } from '../merchants/view.js';
import { isZeroAddress, parseEvmAddress } from './address.js';
import type { ChainConfig } from './config.js';
import { NotJsonError, metadataCommitment } from './jcs.js';

/**
 * RegisterIntent (merchants API, "V2: On-chain registration"): the calldata a merchant's wallet
 * sends to SubscriptionManager, and the pending intent the chain listener matches the resulting
 * MerchantRegistered event against by (chainId, metadataHash).
 *
 * The intent lives in its own columns (`intent_*`, migration 0021) and is overwritten by each
 * call: only the latest one can match. The confirmed V2 columns (`receiver_address`,
 * `metadata_hash`, `chain_id`, `on_chain_merchant_id`, …) are written by the listener only — an
 * unconfirmed receiver is never shown as registered nor paid to.
 *
 * Who may ask: what the confirmed registration decides is where settlements go, so the rule is
 * the one for changing a destination (core/merchants/destinations.ts): the dashboard session —
 * with a fresh `otp` once 2FA is enrolled — or a live API key; never a sandbox key.
 */

/** `registerMerchant(address receiver, bytes32 metadataHash)`, as in server/chain/SubscriptionManager.json (a test compares them). */
export const REGISTER_MERCHANT_ABI = [
  {
    type: 'function',
    name: 'registerMerchant',
    stateMutability: 'nonpayable',
    inputs: [
      { name: 'receiver', type: 'address', internalType: 'address' },
      { name: 'metadataHash', type: 'bytes32', internalType: 'bytes32' },
    ],
    outputs: [{ name: 'merchantId', type: 'uint256', internalType: 'uint256' }],
  },
] as const;

/** Largest canonical metadata accepted, in UTF-8 bytes: a commitment to a profile, not a document store. */
export const METADATA_MAX_BYTES = 16 * 1024;

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/*
 * `metadata` is checked, not rebuilt: a zod record copies properties by assignment, which drops
 * an own "__proto__" key — the hash would then commit to something else than what was sent.
 */
const Metadata = z.custom<Record<string, unknown>>(isPlainObject, { error: 'must be a JSON object' }).meta({
  type: 'object',
  additionalProperties: true,
  description:
    'Arbitrary JSON object committed on chain via keccak256 of its RFC 8785 canonical form (keys sorted, numbers and strings normalised), e.g. {"name": "Acme Store", "email": "hello@acme.io", "version": 1}. At most 16 KB canonical.',
});

export const RegisterIntentInput = z
  .strictObject({
    receiverAddress: z
      .string()
      .max(64)
      .meta({ description: 'EVM address (any case; a mixed-case address must carry a valid EIP-55 checksum) where USDC / USDT settlements are paid. Stored in EIP-55 form.' }),
    metadata: Metadata,
    chainId: z.number().int().positive().meta({ description: 'Chain to register on: 42161 (Arbitrum One) or 421614 (Arbitrum Sepolia) where configured.' }),
    otp: z.string().max(16).optional().meta({ description: 'Current TOTP code: required with a dashboard JWT once 2FA is enrolled (the receiver decides where settlements go).' }),
  })
  .meta({ id: 'RegisterIntentRequest' });
export type RegisterIntentInput = z.infer<typeof RegisterIntentInput>;

export const RegisterIntentResult = z
  .strictObject({
    to: z.string().meta({ description: 'EIP-55 address of the SubscriptionManager contract on chainId: send the transaction to it.' }),
    chainId: z.number().int().meta({ description: 'Echo of the requested chain id.' }),
    metadataHash: z.string().meta({ description: '0x-prefixed 32-byte keccak256 of the UTF-8 bytes of metadataJson.' }),
    metadataJson: z.string().meta({ description: 'The canonical (RFC 8785, sorted-key) JSON text that was hashed.' }),
    encodedTx: z.string().meta({ description: 'ABI-encoded calldata of registerMerchant(address receiver, bytes32 metadataHash): the `data` of the transaction.' }),
  })
  .meta({ id: 'RegisterIntentResponse' });
export type RegisterIntentResult = z.infer<typeof RegisterIntentResult>;

const missing = (v: unknown) => v === undefined || v === null || v === '';

/**
 * The contract's own messages for a missing field (its error table), checked on the raw body
 * before the schema so they are not folded into a generic validation error. Fields in the
 * table's order; anything else wrong is the schema's to say.
 */
export function assertRegisterIntentFieldsPresent(body: unknown): void {
  if (!isPlainObject(body)) return;
  if (missing(body.receiverAddress)) throw invalidInput('receiver_address_required', 'receiverAddress required');
  if (missing(body.chainId)) throw invalidInput('chain_id_required', 'chainId required');
  if (missing(body.metadata)) throw invalidInput('metadata_required', 'metadata required');
}

/** The chain's SubscriptionManager, or the contract's 400 for a chain we do not know or have no contract on. */
export function subscriptionManagerFor(chains: readonly ChainConfig[], chainId: number): Address {
  const chain = chains.find((c) => c.chainId === chainId);
  if (!chain) throw invalidInput('chain_unsupported', `No V2 contracts configured for chainId=${chainId}`);
  if (!chain.subscriptionManager) throw invalidInput('subscription_manager_not_set', `V2 SubscriptionManager not set for chainId=${chainId} (${chain.name})`);
  return chain.subscriptionManager;
}

function receiverFrom(input: string): Address {
  const parsed = parseEvmAddress(input);
  if (!parsed.ok) {
    throw invalidInput(
      'receiver_address_invalid',
      parsed.problem === 'bad_checksum'
        ? 'receiverAddress has an invalid EIP-55 checksum (mixed case must match it exactly; or send it all lowercase)'
        : 'receiverAddress must be an EVM address: 0x followed by 40 hex digits',
    );
  }
  if (isZeroAddress(parsed.address)) throw invalidInput('receiver_address_invalid', 'receiverAddress cannot be the zero address');
  return parsed.address;
}

function commitmentOf(metadata: unknown): { metadataJson: string; metadataHash: Hex } {
  if (!isPlainObject(metadata)) throw invalidInput('metadata_invalid', 'metadata must be a JSON object');
  let commitment: { metadataJson: string; metadataHash: Hex };
  try {
    commitment = metadataCommitment(metadata);
  } catch (e) {
    // NotJsonError, or the library refusing a lone surrogate / a cycle
    const why = e instanceof NotJsonError ? e.message.replace(/^\$/, 'metadata') : `metadata: ${(e as Error).message}`;
    throw invalidInput('metadata_invalid', `metadata is not canonicalisable JSON (${why})`);
  }
  const bytes = Buffer.byteLength(commitment.metadataJson, 'utf8');
  if (bytes > METADATA_MAX_BYTES) throw invalidInput('metadata_too_large', `metadata is ${bytes} bytes as canonical JSON; at most ${METADATA_MAX_BYTES} are accepted`);
  return commitment;
}

/** A sandbox key never decides where money goes (the destination rule). */
function assertMayRegister(credential: MerchantCredential): void {
  if (credential.via === 'api_key' && credential.environment !== 'live') {
    throw forbidden('destination_change_forbidden', 'A sandbox API key cannot register a receiver on chain (it decides where money goes): use a live API key or the dashboard');
  }
}

/**
 * Validates the request, stores it as the merchant's pending intent (replacing any earlier one)
 * and returns what the wallet sends. One transaction: the checks against other merchants'
 * intents and the write cannot interleave with another request.
 */
export async function registerIntent(
  ctx: CoreContext,
  merchantId: string,
  input: RegisterIntentInput,
  chains: readonly ChainConfig[],
  credential: MerchantCredential,
): Promise<RegisterIntentResult> {
  assertRegisterIntentFieldsPresent(input);
  assertMayRegister(credential);
  const receiver = receiverFrom(input.receiverAddress);
  const to = subscriptionManagerFor(chains, input.chainId);
  const { metadataJson, metadataHash } = commitmentOf(input.metadata);
  const encodedTx = encodeFunctionData({ abi: REGISTER_MERCHANT_ABI, functionName: 'registerMerchant', args: [receiver, metadataHash] });

  return inTransaction(ctx, async (tx) => {
    const row = await loadMerchantRow(tx, merchantId);
    if (row.on_chain_merchant_id !== null) {
      throw conflict(
        'merchant_already_registered',
        `This merchant is already registered on chain (onChainMerchantId ${row.on_chain_merchant_id} on chainId=${row.chain_id}): change the receiver with the contract's updateReceiver`,
      );
    }
    // The listener tells merchants apart by (chainId, metadataHash): two merchants waiting on the
    // same pair — or one matching a registration already made — could be confused.
    const clash = await tx.db.kysely
      .selectFrom('merchants')
      .select('id')
      .where('id', '!=', merchantId)
      .where((eb) =>
        eb.or([
          eb.and([eb('intent_chain_id', '=', input.chainId), eb('intent_metadata_hash', '=', metadataHash)]),
          eb.and([eb('chain_id', '=', input.chainId), eb('metadata_hash', '=', metadataHash)]),
        ]),
      )
      .executeTakeFirst();
    if (clash) {
      throw conflict(
        'metadata_hash_in_use',
        'Another merchant registration on this chain commits to the same metadata: add something that identifies you (for example your merchant id) to metadata',
      );
    }
    if (credential.via === 'jwt') await requireFreshOtp(tx, row, input.otp, 'Registering a receiver on chain');
    const now = tx.clock.now().toISOString();
    await tx.db.kysely
      .updateTable('merchants')
      .set({
        intent_receiver_address: receiver,
        intent_metadata_hash: metadataHash,
        intent_metadata_json: metadataJson,
        intent_chain_id: input.chainId,
        intent_at: now,
        updated_at: now,
      })
      .where('id', '=', merchantId)
      .execute();
    return { to, chainId: input.chainId, metadataHash, metadataJson, encodedTx };
  });
}
