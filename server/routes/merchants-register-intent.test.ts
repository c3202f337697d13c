import { readFileSync } from 'node:fs';
import { type Abi, decodeFunctionData, keccak256, toBytes } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseChainConfigs } from '../../core/chain/config.js';
import { METADATA_MAX_BYTES } from '../../core/chain/intent.js';
import { ManualClock } from '../../core/context/index.js';
import { decideKyb } from '../../core/merchants/index.js';
import { type TestServer, currentTotp, signupMerchant, startTestServer } from '../../test/helpers.js';

/**
 * POST /merchants/register-intent (merchants API, "V2: On-chain registration"): every row of the
 * contract's error table, the response shape, the pending intent (overwritten, never shown as
 * registered), and who may ask.
 */

const ABI = (JSON.parse(readFileSync(new URL('../chain/SubscriptionManager.json', import.meta.url), 'utf8')) as { abi: Abi }).abi;
// configured in lowercase; answered in EIP-55
const MANAGER = '0x4F7A2c1B8E2B1c0a9C3D5e6f7a2c1b8e2B1c0A9c';
const RECEIVER = '0xf962939089c02cA84DBc6ea320B8a77d0C2738CE';
const OTHER_RECEIVER = '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed';
const METADATA = { name: 'Acme Store', email: 'hello@acme.io', version: 1 };
const URL_V1 = '/api/v1/merchants/register-intent';
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
const PDF = Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n');

describe('POST /merchants/register-intent', () => {
  let server: TestServer;
  let clock: ManualClock;
  // Arbitrum One with a contract; Arbitrum Sepolia known but without one; 31337 unconfigured.
  const chains = parseChainConfigs({ SUBSCRIPTION_MANAGER_42161: MANAGER.toLowerCase(), CHAIN_RPC_URL_42161: 'https://arb1.example.org' });
  beforeAll(async () => {
    clock = new ManualClock(new Date());
    server = await startTestServer({ clock, config: { chains } });
  });
  afterAll(async () => server.stop());

  const intent = (token: string, body: unknown, url = URL_V1) => server.call('POST', url, { headers: bearer(token), body });
  const intentRow = (id: string) =>
    server.ctx.db.kysely
      .selectFrom('merchants')
      .select(['intent_receiver_address', 'intent_metadata_hash', 'intent_metadata_json', 'intent_chain_id', 'intent_at', 'receiver_address', 'metadata_hash', 'chain_id'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow();

  it('answers to, chainId, metadataHash, metadataJson, encodedTx — `to` and the receiver in EIP-55 for lowercase input', async () => {
    const m = await signupMerchant(server);
    const res = await intent(m.token, { receiverAddress: RECEIVER.toLowerCase(), metadata: { version: 1, name: 'Acme Store', email: 'hello@acme.io' }, chainId: 42161 });
    expect(res.status, res.text).toBe(200);
    const metadataJson = '{"email":"hello@acme.io","name":"Acme Store","version":1}';
    const metadataHash = keccak256(toBytes(metadataJson));
    expect(Object.keys(res.body)).toEqual(['to', 'chainId', 'metadataHash', 'metadataJson', 'encodedTx']);
    expect(res.body).toMatchObject({ to: MANAGER, chainId: 42161, metadataHash, metadataJson });
    const call = decodeFunctionData({ abi: ABI, data: res.body.encodedTx });
    expect(call.functionName).toBe('registerMerchant');
    expect(call.args).toEqual([RECEIVER, metadataHash]);
    const row = await intentRow(m.id);
    expect(row).toMatchObject({ intent_receiver_address: RECEIVER, intent_metadata_hash: metadataHash, intent_metadata_json: metadataJson, intent_chain_id: 42161 });
    expect(row.intent_at).toBe(clock.now().toISOString());
  });

  it('is served at /v1/merchants/register-intent too (the merchants API document’s path)', async () => {
    const m = await signupMerchant(server);
    const res = await intent(m.token, { receiverAddress: RECEIVER, metadata: { ...METADATA, id: m.id }, chainId: 42161 }, '/v1/merchants/register-intent');
    expect(res.status, res.text).toBe(200);
    expect(res.body.to).toBe(MANAGER);
  });

  it('leaves the V2 fields of GET /merchants/me null: an intent is not a registration', async () => {
    const m = await signupMerchant(server);
    expect((await intent(m.token, { receiverAddress: RECEIVER, metadata: { ...METADATA, id: m.id }, chainId: 42161 })).status).toBe(200);
    const me = await server.call('GET', '/api/v1/merchants/me', { headers: bearer(m.token) });
    for (const field of ['onChainMerchantId', 'chainId', 'chainActive', 'receiverAddress', 'adminAddress', 'metadataHash', 'registeredAt'])
      expect(me.body[field], field).toBeNull();
    expect(me.body.liveAccess.missing).toContain('settlement_destination');
    const row = await intentRow(m.id);
    expect(row).toMatchObject({ receiver_address: null, metadata_hash: null, chain_id: null });
  });

  it('a second call overwrites the pending intent: only the latest is stored', async () => {
    const m = await signupMerchant(server);
    const first = await intent(m.token, { receiverAddress: RECEIVER, metadata: { ...METADATA, id: m.id }, chainId: 42161 });
    clock.advance(60_000);
    const second = await intent(m.token, { receiverAddress: OTHER_RECEIVER.toLowerCase(), metadata: { ...METADATA, id: m.id, version: 2 }, chainId: 42161 });
    expect(second.status, second.text).toBe(200);
    expect(second.body.metadataHash).not.toBe(first.body.metadataHash);
    const row = await intentRow(m.id);
    expect(row).toMatchObject({
      intent_receiver_address: OTHER_RECEIVER,
      intent_metadata_hash: second.body.metadataHash,
      intent_metadata_json: second.body.metadataJson,
      intent_chain_id: 42161,
    });
    expect(row.intent_at).toBe(clock.now().toISOString());
  });

  describe('the contract’s error table', () => {
    let token: string;
    beforeAll(async () => {
      token = (await signupMerchant(server)).token;
    });

    it.each([
      ['receiverAddress missing', { metadata: METADATA, chainId: 42161 }, 'receiver_address_required', 'receiverAddress required'],
      ['receiverAddress empty', { receiverAddress: '', metadata: METADATA, chainId: 42161 }, 'receiver_address_required', 'receiverAddress required'],
      ['receiverAddress and chainId missing', { metadata: METADATA }, 'receiver_address_required', 'receiverAddress required'],
      ['chainId missing', { receiverAddress: RECEIVER, metadata: METADATA }, 'chain_id_required', 'chainId required'],
      ['chainId null', { receiverAddress: RECEIVER, metadata: METADATA, chainId: null }, 'chain_id_required', 'chainId required'],
      ['an unknown chain', { receiverAddress: RECEIVER, metadata: METADATA, chainId: 1 }, 'chain_unsupported', 'No V2 contracts configured for chainId=1'],
      [
        'the local chain when not configured',
        { receiverAddress: RECEIVER, metadata: METADATA, chainId: 31337 },
        'chain_unsupported',
        'No V2 contracts configured for chainId=31337',
      ],
      [
        'a known chain without a contract',
        { receiverAddress: RECEIVER, metadata: METADATA, chainId: 421614 },
        'subscription_manager_not_set',
        'V2 SubscriptionManager not set for chainId=421614 (Arbitrum Sepolia)',
      ],
      ['metadata missing', { receiverAddress: RECEIVER, chainId: 42161 }, 'metadata_required', 'metadata required'],
    ])('%s → 400', async (_what, body, error, message) => {
      const res = await intent(token, body);
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ ok: false, error, message });
    });

    it.each([
      ['not hex', '0xnothex', /0x followed by 40 hex digits/],
      ['too short', '0xf962939089c02ca84dbc6ea320b8a77d0c2738', /0x followed by 40 hex digits/],
      ['a wrong EIP-55 checksum (mixed case)', '0xF962939089c02cA84DBc6ea320B8a77d0C2738CE', /invalid EIP-55 checksum/],
      ['the zero address', '0x0000000000000000000000000000000000000000', /zero address/],
    ])('receiverAddress %s → 400 receiver_address_invalid', async (_what, receiverAddress, message) => {
      const res = await intent(token, { receiverAddress, metadata: METADATA, chainId: 42161 });
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('receiver_address_invalid');
      expect(res.body.message).toMatch(message);
    });

    it('metadata that is not a JSON object → 400 validation_failed', async () => {
      for (const metadata of [[1, 2], 'Acme', 7, true]) {
        const res = await intent(token, { receiverAddress: RECEIVER, metadata, chainId: 42161 });
        expect(res.status).toBe(400);
        expect(res.body.error).toBe('validation_failed');
        expect(res.body.message).toContain('metadata: must be a JSON object');
      }
    });

    it('metadata without a canonical form (a number beyond binary64, a lone surrogate) → 400 metadata_invalid', async () => {
      for (const raw of ['{"n":1e400}', '{"s":"\\ud800"}']) {
        const res = await server.call('POST', URL_V1, {
          headers: { ...bearer(token), 'content-type': 'application/json' },
          rawBody: `{"receiverAddress":"${RECEIVER}","chainId":42161,"metadata":${raw}}`,
        });
        expect(res.status, raw).toBe(400);
        expect(res.body.error).toBe('metadata_invalid');
      }
    });

    it(`metadata over ${METADATA_MAX_BYTES} bytes canonical → 400 metadata_too_large; a larger body → 413`, async () => {
      const res = await intent(token, { receiverAddress: RECEIVER, metadata: { blob: 'x'.repeat(METADATA_MAX_BYTES) }, chainId: 42161 });
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('metadata_too_large');
      const huge = await intent(token, { receiverAddress: RECEIVER, metadata: { blob: 'x'.repeat(100_000) }, chainId: 42161 });
      expect(huge.status).toBe(413);
    });

    it('a wrong type or an unknown field → 400 validation_failed', async () => {
      for (const body of [
        { receiverAddress: RECEIVER, metadata: METADATA, chainId: '42161' },
        { receiverAddress: RECEIVER, metadata: METADATA, chainId: 42161.5 },
        { receiverAddress: 42, metadata: METADATA, chainId: 42161 },
        { receiverAddress: RECEIVER, metadata: METADATA, chainId: 42161, admin: RECEIVER },
      ]) {
        const res = await intent(token, body);
        expect(res.status, JSON.stringify(body)).toBe(400);
        expect(res.body.error).toBe('validation_failed');
      }
    });

    it('refused requests leave no intent behind', async () => {
      const m = await signupMerchant(server);
      await intent(m.token, { receiverAddress: RECEIVER, metadata: METADATA, chainId: 421614 });
      expect((await intentRow(m.id)).intent_metadata_hash).toBeNull();
    });
  });

  describe('who may register', () => {
    it('without credentials → 401; a sandbox key → 403 destination_change_forbidden', async () => {
      const m = await signupMerchant(server);
      const body = { receiverAddress: RECEIVER, metadata: { ...METADATA, id: m.id }, chainId: 42161 };
      expect((await server.call('POST', URL_V1, { body })).status).toBe(401);
      const res = await server.call('POST', URL_V1, { headers: { 'x-api-key': m.sandboxKey }, body });
      expect(res.status).toBe(403);
      expect(res.body.error).toBe('destination_change_forbidden');
      expect((await intentRow(m.id)).intent_metadata_hash).toBeNull();
    });

    it('the dashboard with 2FA enrolled needs a fresh otp; a live key may register', async () => {
      const m = await signupMerchant(server, { receivingAddresses: { arbitrum: RECEIVER } });
      const enroll = await server.call('POST', '/api/v1/merchants/me/2fa/enroll', { headers: bearer(m.token) });
      const secret: string = enroll.body.secret;
      expect((await server.call('POST', '/api/v1/merchants/me/2fa/verify', { headers: bearer(m.token), body: { code: currentTotp(secret, clock) } })).status).toBe(200);
      const body = { receiverAddress: RECEIVER, metadata: { ...METADATA, id: m.id }, chainId: 42161 };
      const missing = await intent(m.token, body);
      expect(missing.status).toBe(401);
      expect(missing.body.error).toBe('otp_required');
      clock.advance(30_000);
      const ok = await intent(m.token, { ...body, otp: currentTotp(secret, clock) });
      expect(ok.status, ok.text).toBe(200);

      // a live key: KYB approved, then generated from the dashboard with a fresh code
      const form = new FormData();
      form.set('companyName', 'Acme Ltd');
      form.set('registrationNumber', '91310000MA1FL0000X');
      form.set('country', 'CN');
      for (const kind of ['companyRegistration', 'ownerId', 'bankProof']) form.set(kind, new Blob([PDF]), `${kind}.pdf`);
      expect((await server.call('POST', '/api/v1/merchants/me/kyb', { headers: bearer(m.token), rawBody: form })).status).toBe(201);
      await decideKyb(server.ctx, m.id, 'stf_test_reviewer', { decision: 'approve' });
      clock.advance(30_000);
      const key = await server.call('POST', '/api/v1/merchants/me/generate-key', { headers: bearer(m.token), body: { environment: 'live', otp: currentTotp(secret, clock) } });
      expect(key.status, key.text).toBe(200);
      const viaLive = await server.call('POST', URL_V1, { headers: { 'x-api-key': key.body.apiKey }, body: { ...body, receiverAddress: OTHER_RECEIVER } });
      expect(viaLive.status, viaLive.text).toBe(200);
      expect((await intentRow(m.id)).intent_receiver_address).toBe(OTHER_RECEIVER);
    });
  });

  describe('conflicts', () => {
    it('a merchant registered on chain → 409 merchant_already_registered', async () => {
      const m = await signupMerchant(server);
      // what the chain listener writes once it has seen MerchantRegistered
      await server.ctx.db.kysely
        .updateTable('merchants')
        .set({ on_chain_merchant_id: '3', chain_id: 42161, chain_active: 1, receiver_address: RECEIVER, admin_address: RECEIVER, metadata_hash: `0x${'ab'.repeat(32)}` })
        .where('id', '=', m.id)
        .execute();
      const res = await intent(m.token, { receiverAddress: OTHER_RECEIVER, metadata: { ...METADATA, id: m.id }, chainId: 42161 });
      expect(res.status).toBe(409);
      expect(res.body.error).toBe('merchant_already_registered');
      expect(res.body.message).toContain('onChainMerchantId 3 on chainId=42161');
      expect((await intentRow(m.id)).intent_metadata_hash).toBeNull();
    });

    it('the same metadata as another merchant’s pending intent on the same chain → 409 metadata_hash_in_use', async () => {
      const a = await signupMerchant(server);
      const b = await signupMerchant(server);
      const shared = { name: 'Shared Name', version: 1 };
      expect((await intent(a.token, { receiverAddress: RECEIVER, metadata: shared, chainId: 42161 })).status).toBe(200);
      const clash = await intent(b.token, { receiverAddress: OTHER_RECEIVER, metadata: { version: 1, name: 'Shared Name' }, chainId: 42161 });
      expect(clash.status).toBe(409);
      expect(clash.body.error).toBe('metadata_hash_in_use');
      // the first merchant may repeat its own intent
      expect((await intent(a.token, { receiverAddress: RECEIVER, metadata: shared, chainId: 42161 })).status).toBe(200);
    });
  });
});
