import { AlipaySdk } from 'alipay-sdk';
import { describe, expect, it } from 'vitest';
import { ChannelError } from '../types.js';
import { makeAlipayKeys, testAppId, testSellerId } from './alipay.fixtures.js';
import { topLevelMembers } from './answer.js';
import { createAlipayChannel } from './client.js';
import { startAlipayPeer } from './peer.js';

describe('cutting the signed member out of an answer', () => {
  it('gives each member’s exact text, escapes and nesting included', () => {
    const raw =
      ' {"alipay_trade_query_response" : {"code":"10000","qr_code":"https:\\/\\/qr.alipay.com\\/x","note":"a } \\" {","list":[{"a":1}],"n":-1.5e2,"t":true} ,"sign":"AbC+/=="}\n';
    const members = topLevelMembers(raw);
    expect(members.get('alipay_trade_query_response')).toBe('{"code":"10000","qr_code":"https:\\/\\/qr.alipay.com\\/x","note":"a } \\" {","list":[{"a":1}],"n":-1.5e2,"t":true}');
    expect(members.get('sign')).toBe('"AbC+/=="');
  });

  it('refuses a repeated member, trailing text and anything that is not an object', () => {
    expect(() => topLevelMembers('{"a_response":{"code":"1"},"sign":"x","a_response":{"code":"2"}}')).toThrow(/twice/);
    expect(() => topLevelMembers('{"a":1} {"b":2}')).toThrow(/after/);
    expect(() => topLevelMembers('[1]')).toThrow(SyntaxError);
    expect(() => topLevelMembers('{"a":{"b":1}')).toThrow(SyntaxError);
    expect(() => topLevelMembers('{"a":{"b":1,}}')).toThrow(SyntaxError);
    expect(() => topLevelMembers('<html>')).toThrow(SyntaxError);
  });
});

describe('an answer whose signed member is followed by a forged copy', () => {
  it('fools alipay-sdk’s exec(validateSign) — the reason the client does its own HTTP and verification', async () => {
    const keys = makeAlipayKeys();
    const peer = await startAlipayPeer({ appPublicKey: keys.appPublicKey, alipayPrivateKey: keys.alipayPrivateKey, appId: testAppId, sellerId: testSellerId });
    try {
      const sdk = new AlipaySdk({
        appId: testAppId,
        privateKey: keys.appPrivateKeyPkcs8,
        keyType: 'PKCS8',
        alipayPublicKey: keys.alipayPublicKey,
        gateway: peer.url,
        camelcase: false,
      });
      await sdk.exec('alipay.trade.precreate', { bizContent: { out_trade_no: 'ord_forged_1', total_amount: '1.00', subject: 's' } }, { validateSign: true });
      peer.scan('ord_forged_1');
      peer.failNext('duplicate_member');
      const believed = await sdk.exec('alipay.trade.query', { bizContent: { out_trade_no: 'ord_forged_1' } }, { validateSign: true });
      // The trade is unpaid; the SDK hands back the forged member. If an upgrade fixes this, this
      // test fails and exec() can be reconsidered.
      expect(believed.trade_status).toBe('TRADE_SUCCESS');
      expect(peer.orders.get('ord_forged_1')!.status).toBe('WAIT_BUYER_PAY');

      const channel = createAlipayChannel(
        { appId: testAppId, privateKey: keys.appPrivateKey, alipayPublicKey: keys.alipayPublicKey, sellerId: testSellerId, gateway: peer.url },
        { now: () => new Date() },
      );
      expect(await channel.queryOrder('ord_forged_1')).toEqual({ state: 'open' });
      peer.failNext('duplicate_member');
      const error = await channel.queryOrder('ord_forged_1').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ChannelError);
      expect((error as ChannelError).channelCode).toBe('bad_response');
    } finally {
      await peer.close();
    }
  });
});
