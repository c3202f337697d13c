import { deflateSync } from 'node:zlib';
import { PDF_BYTES } from '../../../core/backoffice/testing/harness.js';
import { signup, updateMerchant } from '../../../core/merchants/accounts.js';
import { submitKyb } from '../../../core/merchants/kyb.js';
import type { Seed } from './index.js';

/**
 * The admin screen families (test/browser/admin.spec.ts): merchants of their own, so the other
 * tests' queues and invoices are untouched by a suspension or an information request.
 * - Heron Vision: KYB waiting for review, its owner's ID a PNG (viewable in the page), the rest PDFs.
 * - Kestrel Labs: a receiving address from sign-up, then a bank account and settlement currency set
 *   from its dashboard (a destination history of three changes, in the 72 h cooling-off).
 */
export const seedAdmin: Seed = async ({ ctx }) => {
  const heron = await signup(ctx, { name: 'Heron Vision', email: 'compliance@heron-vision.test', password: 'merchant password 3' } as never);
  await submitKyb(ctx, heron.id, { companyName: 'Heron Vision Pte Ltd', registrationNumber: '202612345K', country: 'SG' }, [
    { kind: 'companyRegistration', originalName: 'acra-bizfile.pdf', content: Buffer.concat([PDF_BYTES, Buffer.from('Heron Vision Pte Ltd ACRA business profile')]) },
    { kind: 'ownerId', originalName: 'director-passport.png', content: idCardPng() },
    { kind: 'bankProof', originalName: 'dbs-statement.pdf', content: Buffer.concat([PDF_BYTES, Buffer.from('Heron Vision DBS statement')]) },
  ]);

  const kestrel = await signup(ctx, {
    name: 'Kestrel Labs',
    email: 'finance@kestrel-labs.test',
    password: 'merchant password 4',
    receivingAddresses: { arbitrum: '0x8ba1f109551bd432803012645ac136ddd64dba72' },
  } as never);
  await updateMerchant(
    ctx,
    kestrel.id,
    {
      bankAccount: { holderName: 'Kestrel Labs Ltd', accountNumber: '6222 0210 0112 3456 789', bankName: 'ICBC Shanghai Branch', cnapsCode: '102290000011', currency: 'CNY' },
      settlementCurrency: 'CNY',
    } as never,
    { via: 'jwt', keyId: null, environment: 'live' },
  );
};

/** A small PNG that looks like an identity card (drawn here, so the suite needs no binary fixture). */
function idCardPng(): Buffer {
  const width = 360;
  const height = 228;
  const raw = Buffer.alloc((width * 3 + 1) * height);
  const paint = (x: number, y: number): [number, number, number] => {
    if (x < 6 || y < 6 || x >= width - 6 || y >= height - 6) return [210, 214, 222]; // border
    if (y < 44) return [52, 81, 178]; // header band
    if (x >= 22 && x < 122 && y >= 62 && y < 192) {
      const dx = x - 72;
      const head = dx * dx + (y - 104) ** 2 < 24 * 24;
      const shoulders = y > 140 && dx * dx + (y - 192) ** 2 < 46 * 46;
      return head || shoulders ? [120, 128, 142] : [226, 230, 236]; // photo
    }
    for (const [top, length] of [
      [70, 190],
      [92, 150],
      [114, 170],
      [136, 120],
      [170, 200],
    ]) {
      if (x >= 140 && x < 140 + length && y >= top && y < top + 9) return [160, 166, 178]; // text lines
    }
    return [250, 251, 253];
  };
  for (let y = 0; y < height; y++) {
    const row = y * (width * 3 + 1);
    raw[row] = 0; // filter: none
    for (let x = 0; x < width; x++) raw.set(paint(x, y), row + 1 + x * 3);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

function crc32(bytes: Buffer): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}
