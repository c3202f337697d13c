import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../core/context/index.js';
import { currentTotp, signupMerchant, startTestServer, type TestServer } from './helpers.js';
import { type Harness, PDF_BYTES, type TestStaff, openHarness } from '../core/backoffice/testing/harness.js';

/**
 * The whole KYB story across both surfaces: merchants over the real HTTP API, staff through the
 * registry on the same server's context and database.
 */
const ADDRESS = '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed';

describe('KYB review end to end', () => {
  let server: TestServer;
  let h: Harness;
  let admin: TestStaff;
  let support: TestStaff;
  const clock = new ManualClock('2026-05-01T09:00:00.000Z');

  beforeAll(async () => {
    server = await startTestServer({ clock });
    h = await openHarness({ ctx: server.ctx, clock });
    admin = await h.staff('admin');
    support = await h.staff('support');
  });
  afterAll(async () => {
    await h.close();
    await server.stop();
  });

  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  async function submitKyb(token: string, company: string) {
    const form = new FormData();
    form.set('companyName', company);
    form.set('registrationNumber', 'UEN-2026-0001');
    form.set('country', 'sg');
    for (const kind of ['companyRegistration', 'ownerId', 'bankProof']) {
      form.set(kind, new Blob([new Uint8Array(Buffer.concat([PDF_BYTES, Buffer.from(`${company} ${kind}`)]))]), `${kind}.pdf`);
    }
    const res = await server.call('POST', '/api/v1/merchants/me/kyb', { headers: bearer(token), rawBody: form });
    expect(res.status, res.text).toBe(201);
    return res.body;
  }

  it('approval unlocks live keys for a merchant with 2FA and a destination', async () => {
    const m = await signupMerchant(server);
    // 2FA and a settlement destination first
    const enroll = await server.call('POST', '/api/v1/merchants/me/2fa/enroll', { headers: bearer(m.token), body: {} });
    expect(enroll.status).toBe(200);
    const verify = await server.call('POST', '/api/v1/merchants/me/2fa/verify', { headers: bearer(m.token), body: { code: currentTotp(enroll.body.secret, clock) } });
    expect(verify.status, verify.text).toBe(200);
    // with 2FA on, where money goes changes only with a fresh code (each code is good once)
    const otp = () => {
      clock.advance(30_000);
      return currentTotp(enroll.body.secret, clock);
    };
    const patch = await server.call('PATCH', '/api/v1/merchants/me', { headers: bearer(m.token), body: { receivingAddresses: { arbitrum: ADDRESS }, otp: otp() } });
    expect(patch.status, patch.text).toBe(200);

    const locked = await server.call('POST', '/api/v1/merchants/me/generate-key', { headers: bearer(m.token), body: { environment: 'live' } });
    expect(locked.status).toBe(400);
    expect(locked.body.error).toBe('live_access_locked');

    await submitKyb(m.token, 'Acme AI Pte Ltd');
    const queue = await h.run(support, 'kyb:list', { status: 'pending_review' });
    expect(queue.ok && queue.data.items.map((i: { merchantId: string }) => i.merchantId)).toContain(m.id);
    const shown = await h.run(support, 'kyb:show', { merchant: m.id });
    expect(shown).toMatchObject({ ok: true, data: { kyb: { status: 'pending_review', companyName: 'Acme AI Pte Ltd', country: 'SG' } } });
    expect(shown.ok && shown.data.documents).toHaveLength(3);

    // support may read but not decide; an admin decides with step-up
    expect(await h.run(support, 'kyb:approve', { merchant: m.id })).toMatchObject({ ok: false, error: { code: 'role_forbidden' } });
    const approved = await h.run(admin, 'kyb:approve', { merchant: m.id }, admin.nextOtp());
    expect(approved).toMatchObject({ ok: true, data: { status: 'approved', liveAccess: { unlocked: true, missing: [] } } });

    const kyb = await server.call('GET', '/api/v1/merchants/me/kyb', { headers: bearer(m.token) });
    expect(kyb.body.status).toBe('approved');
    const live = await server.call('POST', '/api/v1/merchants/me/generate-key', { headers: bearer(m.token), body: { environment: 'live', otp: otp() } });
    expect(live.status, live.text).toBe(200);
    expect(live.body.apiKey).toMatch(/^bm_live_/);
  });

  it('staff looking at or exporting KYB documents leaves an audit entry (who, whose, which document, when); the chain still verifies', async () => {
    const m = await signupMerchant(server);
    await submitKyb(m.token, 'Private Data Ltd');
    const finance = await h.staff('finance');
    const before = await h.run(admin, 'audit:list', { touching: m.id });
    expect(before.ok && before.data.items).toEqual([]);

    expect(await h.run(support, 'kyb:show', { merchant: m.id })).toMatchObject({ ok: true });
    const shownAt = clock.now().toISOString();
    clock.advance(1000);
    const exported = await h.run(finance, 'kyb:export-document', { merchant: m.id, kind: 'ownerId' });
    expect(exported).toMatchObject({ ok: true, data: { kind: 'ownerId' } });

    const entries = await h.run(admin, 'audit:list', { touching: m.id });
    expect(entries.ok).toBe(true);
    const items = entries.ok ? entries.data.items : [];
    expect(items.map((e: any) => [e.command, e.actor.email, e.input, e.outcome])).toEqual([
      ['kyb:export-document', finance.email, { merchant: m.id, kind: 'ownerId' }, 'ok'],
      ['kyb:show', support.email, { merchant: m.id }, 'ok'],
    ]);
    expect(items[1].at).toBe(shownAt);
    // never the document itself
    expect(JSON.stringify(items)).not.toContain(exported.ok ? exported.data.contentBase64.slice(0, 24) : '?');
    expect(await h.run(finance, 'audit:verify')).toMatchObject({ ok: true, data: { intact: true } });
  });

  it('a rejection shows the merchant the reason', async () => {
    const m = await signupMerchant(server);
    await submitKyb(m.token, 'Shady Models Ltd');
    const rejected = await h.run(admin, 'kyb:reject', { merchant: m.id, reason: 'The registration document does not match the company name.' }, admin.nextOtp());
    expect(rejected).toMatchObject({ ok: true, data: { status: 'rejected' } });
    const kyb = await server.call('GET', '/api/v1/merchants/me/kyb', { headers: bearer(m.token) });
    expect(kyb.status).toBe(200);
    expect(kyb.body).toMatchObject({ status: 'rejected', rejectionReason: 'The registration document does not match the company name.' });
    const live = await server.call('POST', '/api/v1/merchants/me/generate-key', { headers: bearer(m.token), body: { environment: 'live' } });
    expect(live.body.error).toBe('live_access_locked');
  });

  it('suspension answers 403 to the merchant’s API calls at once; reactivation restores them', async () => {
    const m = await signupMerchant(server);
    const me = () => server.call('GET', '/api/v1/merchants/me', { headers: { 'x-api-key': m.sandboxKey } });
    expect((await me()).status).toBe(200);
    expect(await h.run(admin, 'merchants:suspend', { merchant: m.id, reason: 'fraud review' }, admin.nextOtp())).toMatchObject({ ok: true, data: { status: 'suspended' } });
    const refused = await me();
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ ok: false, error: 'merchant_suspended' });
    expect(await h.run(admin, 'merchants:reactivate', { merchant: m.id }, admin.nextOtp())).toMatchObject({ ok: true, data: { status: 'active' } });
    expect((await me()).status).toBe(200);

    const entries = await h.run(admin, 'audit:list', { touching: m.id });
    expect(entries.ok && entries.data.items.map((e: { command: string }) => e.command)).toEqual(['merchants:reactivate', 'merchants:suspend']);
  });
});
