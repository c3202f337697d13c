import { queryRows } from '../../core/testing/database.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../core/context/index.js';
import { decideKyb, readKybDocument, revealBankAccount } from '../../core/merchants/index.js';
import { currentTotp, signupMerchant, startTestServer, type TestServer } from '../../test/helpers.js';

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
const PDF = Buffer.from('%PDF-1.7\n%âãÏÓ\n1 0 obj <<>> endobj\n%%EOF\n', 'latin1');
const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(64, 1)]);
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(64, 2)]);

function kybForm(overrides: Partial<Record<'companyRegistration' | 'ownerId' | 'bankProof', Buffer | null>> = {}, fields: Record<string, string> = {}) {
  const form = new FormData();
  form.set('companyName', fields.companyName ?? 'Acme AI Ltd');
  form.set('registrationNumber', fields.registrationNumber ?? '91310000MA1FL0000X');
  form.set('country', fields.country ?? 'cn');
  const files = { companyRegistration: PDF, ownerId: JPEG, bankProof: PNG, ...overrides };
  for (const [kind, content] of Object.entries(files)) if (content) form.set(kind, new Blob([new Uint8Array(content)]), `${kind}.pdf`);
  return form;
}

describe('PATCH /merchants/me', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ resolveHost: async (h) => (h === 'hooks.acme.io' ? ['93.184.216.34'] : ['10.0.0.7']) });
  });
  afterAll(async () => server.stop());

  it('updates supplied fields only, with an API key (as the document shows) or a JWT', async () => {
    const m = await signupMerchant(server);
    // webhookUrl receives live events: never a sandbox key's to change (the dashboard's or a live key's).
    const sandboxHook = await server.call('PATCH', '/v1/merchants/me', { headers: { 'x-api-key': m.sandboxKey }, body: { webhookUrl: 'https://hooks.acme.io/butter-v2' } });
    expect(sandboxHook.status).toBe(403);
    expect(sandboxHook.body.error).toBe('webhook_url_change_forbidden');
    expect((await server.call('PATCH', '/v1/merchants/me', { headers: bearer(m.token), body: { webhookUrl: 'https://hooks.acme.io/butter-v2' } })).status).toBe(200);
    const res = await server.call('PATCH', '/v1/merchants/me', {
      headers: { 'x-api-key': m.sandboxKey },
      body: { webhookUrl: 'https://hooks.acme.io/butter-v2', autoCreateCustomers: true },
    });
    expect(res.status).toBe(200);
    expect(res.body.webhookUrl).toBe('https://hooks.acme.io/butter-v2');
    expect(res.body.autoCreateCustomers).toBe(true);
    // Where money goes is not a sandbox key's to change (merchants-boundaries.test.ts); the dashboard's, before 2FA, without a code.
    const money = await server.call('PATCH', '/v1/merchants/me', {
      headers: bearer(m.token),
      body: {
        receivingAddresses: { arbitrum: '0xf962939089c02ca84dbc6ea320b8a77d0c2738ce', polygon: '0xF962939089C02CA84DBC6EA320B8A77D0C2738CE' },
        settlementCurrency: 'USDC',
      },
    });
    expect(money.status).toBe(200);
    expect(money.body.webhookUrl).toBe('https://hooks.acme.io/butter-v2');
    expect(money.body.receivingAddresses).toEqual({
      arbitrum: '0xf962939089c02cA84DBc6ea320B8a77d0C2738CE',
      polygon: '0xf962939089c02cA84DBc6ea320B8a77d0C2738CE',
    });
    expect(money.body.settlementCurrency).toBe('USDC');
    expect(money.body.autoCreateCustomers).toBe(true);
    expect(money.body.name).toMatch(/^Merchant/); // untouched
    // receivingAddresses replaces the whole map
    const replaced = await server.call('PATCH', '/api/v1/merchants/me', { headers: bearer(m.token), body: { receivingAddresses: {} } });
    expect(replaced.body.receivingAddresses).toEqual({});
  });

  it('refuses webhook URLs that resolve to private addresses, bad checksums and unknown fields', async () => {
    const m = await signupMerchant(server);
    const privateHost = await server.call('PATCH', '/api/v1/merchants/me', { headers: bearer(m.token), body: { webhookUrl: 'https://intranet.acme.io/h' } });
    expect(privateHost.status).toBe(400);
    expect(privateHost.body.error).toBe('webhook_url_invalid');
    expect(privateHost.body.message).toContain('10.0.0.7');
    const badChecksum = await server.call('PATCH', '/api/v1/merchants/me', {
      headers: bearer(m.token),
      body: { receivingAddresses: { arbitrum: '0xF962939089c02cA84DBc6ea320B8a77d0C2738CE' } },
    });
    expect(badChecksum.status).toBe(400);
    const unknown = await server.call('PATCH', '/api/v1/merchants/me', { headers: bearer(m.token), body: { serviceFeeBps: 0 } });
    expect(unknown.status).toBe(400); // the fee is not the merchant's to change
    const badCurrency = await server.call('PATCH', '/api/v1/merchants/me', { headers: bearer(m.token), body: { settlementCurrency: 'DOGE' } });
    expect(badCurrency.status).toBe(400);
  });

  it('keeps bank details sealed at rest and shows only a masked number back', async () => {
    const m = await signupMerchant(server);
    const res = await server.call('PATCH', '/api/v1/merchants/me', {
      headers: bearer(m.token),
      body: { bankAccount: { holderName: '上海示例科技有限公司', accountNumber: '6222020200112233445', bankName: 'ICBC Shanghai', cnapsCode: '102290002345', currency: 'CNY' } },
    });
    expect(res.status).toBe(200);
    expect(res.body.bankAccount).toEqual({
      holderName: '上海示例科技有限公司',
      accountNumberMasked: '••••3445',
      bankName: 'ICBC Shanghai',
      swiftBic: null,
      cnapsCode: '102290002345',
      currency: 'CNY',
    });
    const [row] = await queryRows<Record<string, string>>(server.db, 'select bank_account_enc, bank_account_masked from merchants where id = ?', m.id);
    expect(row.bank_account_enc).not.toContain('6222020200112233445');
    expect(row.bank_account_masked).not.toContain('6222020200112233445');
    expect((await revealBankAccount(server.ctx, m.id))?.accountNumber).toBe('6222020200112233445');

    const invalidIban = await server.call('PATCH', '/api/v1/merchants/me', {
      headers: bearer(m.token),
      body: { bankAccount: { holderName: 'X', iban: 'DE00 0000 0000 0000 0000 00', bankName: 'B', swiftBic: 'COBADEFF', currency: 'EUR' } },
    });
    expect(invalidIban.status).toBe(400);
    const noRouting = await server.call('PATCH', '/api/v1/merchants/me', {
      headers: bearer(m.token),
      body: { bankAccount: { holderName: 'X', accountNumber: '12345678', bankName: 'B', currency: 'USD' } },
    });
    expect(noRouting.status).toBe(400);
    expect(noRouting.body.message).toContain('swiftBic or cnapsCode');
    const cleared = await server.call('PATCH', '/api/v1/merchants/me', { headers: bearer(m.token), body: { bankAccount: null } });
    expect(cleared.body.bankAccount).toBeNull();
  });

  it('locks name and email once the merchant is registered on chain; other fields stay editable', async () => {
    const m = await signupMerchant(server);
    await queryRows(server.db, "update merchants set on_chain_merchant_id = '3', chain_id = 42161, chain_active = 1 where id = ?", m.id);
    for (const body of [{ name: 'Renamed' }, { email: 'new@example.com' }]) {
      const res = await server.call('PATCH', '/api/v1/merchants/me', { headers: bearer(m.token), body });
      expect(res.status).toBe(409);
      expect(res.body.error).toBe('merchant_identity_locked');
    }
    const ok = await server.call('PATCH', '/api/v1/merchants/me', { headers: bearer(m.token), body: { webhookUrl: 'https://hooks.acme.io/x' } });
    expect(ok.status).toBe(200);
    expect(ok.body.onChainMerchantId).toBe('3');
    expect(ok.body.chainActive).toBe(true);
  });

  it('refuses an email that another merchant has (409)', async () => {
    const a = await signupMerchant(server);
    const b = await signupMerchant(server);
    const res = await server.call('PATCH', '/api/v1/merchants/me', { headers: bearer(b.token), body: { email: a.email.toUpperCase() } });
    expect(res.status).toBe(409);
    expect(res.body.error).toBe('email_already_registered');
  });
});

describe('merchant 2FA', () => {
  let server: TestServer;
  let clock: ManualClock;
  beforeAll(async () => {
    clock = new ManualClock(new Date());
    server = await startTestServer({ clock });
  });
  afterAll(async () => server.stop());

  it('enrol → verify → login needs a code; a code works once; recovery codes work once', async () => {
    const m = await signupMerchant(server);
    const enroll = await server.call('POST', '/api/v1/merchants/me/2fa/enroll', { headers: bearer(m.token) });
    expect(enroll.status).toBe(200);
    expect(enroll.body.otpauthUri).toMatch(/^otpauth:\/\/totp\/BuffMoney:.*secret=[A-Z2-7]+/);
    expect(enroll.body.qrCodeDataUrl).toMatch(/^data:image\/png;base64,/);
    const secret: string = enroll.body.secret;

    const wrong = await server.call('POST', '/api/v1/merchants/me/2fa/verify', { headers: bearer(m.token), body: { code: '000000' } });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error).toBe('otp_invalid');
    const verify = await server.call('POST', '/api/v1/merchants/me/2fa/verify', { headers: bearer(m.token), body: { code: currentTotp(secret, clock) } });
    expect(verify.status).toBe(200);
    expect(verify.body.recoveryCodes).toHaveLength(10);
    expect((await server.call('GET', '/api/v1/merchants/me', { headers: bearer(m.token) })).body.twoFactorEnabled).toBe(true);

    const noCode = await server.call('POST', '/api/v1/auth/login', { body: { email: m.email, password: m.password } });
    expect(noCode.status).toBe(401);
    expect(noCode.body.error).toBe('otp_required');
    // The code used at verification cannot be replayed; the next step's code can be used once.
    expect((await server.call('POST', '/api/v1/auth/login', { body: { email: m.email, password: m.password, otp: currentTotp(secret, clock) } })).status).toBe(401);
    clock.advance(30_000);
    const code = currentTotp(secret, clock);
    expect((await server.call('POST', '/api/v1/auth/login', { body: { email: m.email, password: m.password, otp: code } })).status).toBe(200);
    const replay = await server.call('POST', '/api/v1/auth/login', { body: { email: m.email, password: m.password, otp: code } });
    expect(replay.status).toBe(401);
    expect(replay.body.error).toBe('otp_invalid');
    // A wrong password with a right code still reveals nothing more than invalid_credentials.
    clock.advance(30_000);
    const wrongPassword = await server.call('POST', '/api/v1/auth/login', { body: { email: m.email, password: 'nope-nope', otp: currentTotp(secret, clock) } });
    expect(wrongPassword.body.error).toBe('invalid_credentials');

    const recovery = verify.body.recoveryCodes[3];
    expect((await server.call('POST', '/api/v1/auth/login', { body: { email: m.email, password: m.password, recoveryCode: recovery.toUpperCase() } })).status).toBe(200);
    expect((await server.call('POST', '/api/v1/auth/login', { body: { email: m.email, password: m.password, recoveryCode: recovery } })).status).toBe(401);

    // Recovery codes are stored hashed.
    const hashes = await queryRows<{ code_hash: string }>(server.db, 'select code_hash from merchant_recovery_codes where merchant_id = ?', m.id);
    const [totpRow] = await queryRows<{ totp_secret_enc: string }>(server.db, 'select totp_secret_enc from merchants where id = ?', m.id);
    expect(hashes).toHaveLength(10);
    for (const c of verify.body.recoveryCodes) expect(hashes.some((h) => h.code_hash.includes(c))).toBe(false);
    expect(totpRow.totp_secret_enc).not.toContain(secret);

    // Disabling needs the password and a fresh code.
    clock.advance(30_000);
    const disable = await server.call('POST', '/api/v1/merchants/me/2fa/disable', { headers: bearer(m.token), body: { password: m.password, code: currentTotp(secret, clock) } });
    expect(disable.status).toBe(200);
    expect((await server.call('POST', '/api/v1/auth/login', { body: { email: m.email, password: m.password } })).status).toBe(200);
  });

  it('2FA endpoints need a dashboard session, not an API key', async () => {
    const m = await signupMerchant(server);
    const res = await server.call('POST', '/api/v1/merchants/me/2fa/enroll', { headers: { 'x-api-key': m.sandboxKey } });
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('jwt_required');
  });
});

describe('KYB submission', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => server.stop());

  it('accepts company fields and three documents (checked by content) → 201 pending_review', async () => {
    const m = await signupMerchant(server);
    const before = await server.call('GET', '/api/v1/merchants/me/kyb', { headers: bearer(m.token) });
    expect(before.body.status).toBe('not_submitted');
    const res = await server.call('POST', '/api/v1/merchants/me/kyb', { headers: bearer(m.token), rawBody: kybForm() });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ status: 'pending_review', companyName: 'Acme AI Ltd', country: 'CN', rejectionReason: null });
    const byKind = Object.fromEntries(res.body.documents.map((d: any) => [d.kind, d]));
    expect(byKind.companyRegistration.contentType).toBe('application/pdf');
    expect(byKind.ownerId.contentType).toBe('image/jpeg'); // named .pdf, but the bytes are a JPEG
    expect(byKind.bankProof.contentType).toBe('image/png');
    expect(byKind.bankProof.sizeBytes).toBe(PNG.length);
    expect(byKind.bankProof.sha256).toMatch(/^[0-9a-f]{64}$/);
    const doc = await readKybDocument(server.ctx, m.id, 'bankProof');
    expect(doc.content.equals(PNG)).toBe(true);
    const again = await server.call('POST', '/api/v1/merchants/me/kyb', { headers: bearer(m.token), rawBody: kybForm() });
    expect(again.status).toBe(409);
    expect(again.body.error).toBe('kyb_pending');
    const seen = await server.call('GET', '/api/v1/merchants/me/kyb', { headers: { 'x-api-key': m.sandboxKey } });
    expect(seen.body.status).toBe('pending_review');
    expect((await server.call('GET', '/api/v1/merchants/me', { headers: bearer(m.token) })).body.kybStatus).toBe('pending_review');
  });

  it('shows a rejection reason, and allows resubmission after it', async () => {
    const m = await signupMerchant(server);
    await server.call('POST', '/api/v1/merchants/me/kyb', { headers: bearer(m.token), rawBody: kybForm() });
    await decideKyb(server.ctx, m.id, 'stf_reviewer', { decision: 'reject', reason: 'Owner ID is expired' });
    const seen = await server.call('GET', '/api/v1/merchants/me/kyb', { headers: bearer(m.token) });
    expect(seen.body).toMatchObject({ status: 'rejected', rejectionReason: 'Owner ID is expired' });
    const resubmit = await server.call('POST', '/api/v1/merchants/me/kyb', { headers: bearer(m.token), rawBody: kybForm() });
    expect(resubmit.status).toBe(201);
    expect(resubmit.body.rejectionReason).toBeNull();
  });

  it.each([
    ['a text file named .pdf', kybForm({ ownerId: Buffer.from('just text, not a document') }), 415, 'kyb_document_type'],
    ['a missing document', kybForm({ bankProof: null }), 400, 'kyb_document_missing'],
    ['an empty document', kybForm({ bankProof: Buffer.alloc(0) }), 400, 'kyb_document_empty'],
    ['a document over 10 MB', kybForm({ bankProof: Buffer.concat([PDF, Buffer.alloc(10 * 1024 * 1024)]) }), 413, 'kyb_document_too_large'],
    ['a bad country', kybForm({}, { country: 'China' }), 400, 'validation_failed'],
  ])('refuses %s', async (_name, form, status, code) => {
    const m = await signupMerchant(server);
    const res = await server.call('POST', '/api/v1/merchants/me/kyb', { headers: bearer(m.token), rawBody: form });
    expect(res.status).toBe(status);
    expect(res.body.error).toBe(code);
    expect((await server.call('GET', '/api/v1/merchants/me/kyb', { headers: bearer(m.token) })).body.status).toBe('not_submitted'); // no partial write
  });

  it('refuses a JSON body (415) and an unexpected file field (400)', async () => {
    const m = await signupMerchant(server);
    const asJson = await server.call('POST', '/api/v1/merchants/me/kyb', { headers: bearer(m.token), body: { companyName: 'x' } });
    expect(asJson.status).toBe(415);
    const form = kybForm();
    form.set('passport', new Blob([PDF]), 'p.pdf');
    const extra = await server.call('POST', '/api/v1/merchants/me/kyb', { headers: bearer(m.token), rawBody: form });
    expect(extra.status).toBe(400);
    expect(extra.body.error).toBe('upload_invalid');
  });
});
