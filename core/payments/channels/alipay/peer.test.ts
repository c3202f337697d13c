import { createVerify } from 'node:crypto';
import { AlipaySdk } from 'alipay-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeAlipayKeys, testAppId, testSellerId } from './alipay.fixtures.js';
import { topLevelMembers } from './answer.js';
import { type AlipayPeer, startAlipayPeer } from './peer.js';

const keys = makeAlipayKeys();
let peer: AlipayPeer;

beforeAll(async () => {
  peer = await startAlipayPeer({ appPublicKey: keys.appPublicKey, alipayPrivateKey: keys.alipayPrivateKey, appId: testAppId, sellerId: testSellerId });
});
afterAll(async () => {
  await peer.close();
});

async function post(query: Record<string, string>, body: Record<string, string>) {
  const url = new URL(peer.url);
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(body).toString() });
  return response.text();
}

function member(raw: string, key: string) {
  const members = topLevelMembers(raw);
  const text = members.get(key)!;
  const sign = JSON.parse(members.get('sign')!) as string;
  // Checked with plain node:crypto, not with our client: the peer signs the member's exact text.
  expect(createVerify('RSA-SHA256').update(text, 'utf8').verify(keys.alipayPublicKey, sign, 'base64')).toBe(true);
  return JSON.parse(text) as Record<string, string>;
}

describe('the local Alipay peer', () => {
  it('refuses an unsigned request, and one signed with another key, in Alipay’s words (signed answers)', async () => {
    const common = { app_id: testAppId, method: 'alipay.trade.query', charset: 'utf-8', sign_type: 'RSA2', timestamp: '2026-12-01 17:00:00', version: '1.0' };
    const unsigned = member(await post(common, { biz_content: '{"out_trade_no":"ord_x1"}' }), 'alipay_trade_query_response');
    expect(unsigned).toMatchObject({ code: '40002', sub_code: 'isv.missing-signature' });
    const forged = member(await post({ ...common, sign: 'AAAA' }, { biz_content: '{"out_trade_no":"ord_x1"}' }), 'alipay_trade_query_response');
    expect(forged).toMatchObject({ code: '40002', sub_code: 'isv.invalid-signature' });
    expect(forged.sub_msg).toContain('app_id=2021000123456789&biz_content={"out_trade_no":"ord_x1"}&charset=utf-8&method=alipay.trade.query');
    const wrongApp = member(await post({ ...common, app_id: '2021000000000000', sign: 'AAAA' }, {}), 'alipay_trade_query_response');
    expect(wrongApp).toMatchObject({ sub_code: 'isv.invalid-app-id' });
  });

  it('accepts a request signed by alipay-sdk and answers as Alipay writes it (`/` escaped)', async () => {
    const sdk = new AlipaySdk({ appId: testAppId, privateKey: keys.appPrivateKeyPkcs8, keyType: 'PKCS8' });
    const signed = Object.fromEntries(
      new URLSearchParams(
        sdk.sdkExecute(
          'alipay.trade.precreate',
          { bizContent: { out_trade_no: 'ord_peer_1', total_amount: '0.01', subject: '测试 & test' }, notify_url: 'http://127.0.0.1:1/n' },
          { bizContentAutoSnakeCase: false },
        ),
      ),
    );
    const { biz_content, ...common } = signed;
    const raw = await post(common, { biz_content });
    expect(raw).toMatch(/"qr_code":"https:\\\/\\\/qr\.alipay\.com\\\//);
    expect(member(raw, 'alipay_trade_precreate_response')).toMatchObject({ code: '10000', out_trade_no: 'ord_peer_1' });
    expect(peer.orders.get('ord_peer_1')).toMatchObject({ totalFen: 1n, subject: '测试 & test', notifyUrl: 'http://127.0.0.1:1/n', status: 'CREATED' });
  });
});
