import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createEventIdCodec } from './event-ids.js';

describe('event ids', () => {
  const codec = createEventIdCodec(randomBytes(16));

  it('are evt_ + 26 base32 characters, unique, and decode back to their seq', () => {
    const seqs = [0, 1, 2, 3, 255, 256, 65_535, 1_000_000, 2 ** 40 + 7, 2 ** 48 - 1];
    const ids = codec.encode(seqs);
    expect(new Set(ids).size).toBe(seqs.length);
    for (const [i, id] of ids.entries()) {
      expect(id).toMatch(/^evt_[0-7][0-9a-hjkmnp-tv-z]{25}$/);
      expect(codec.decode(id)).toBe(seqs[i]);
    }
  });

  it('are the base32 of the AES-128 block of the seq', () => {
    const key = randomBytes(16);
    const [id] = createEventIdCodec(key).encode([123_456_789]);
    const plain = Buffer.alloc(16);
    plain.writeUIntBE(123_456_789, 10, 6);
    const block = createCipheriv('aes-128-ecb', key, null).setAutoPadding(false).update(plain);
    const alphabet = '0123456789abcdefghjkmnpqrstvwxyz';
    let value = 0n;
    for (const ch of id.slice(4)) value = value * 32n + BigInt(alphabet.indexOf(ch));
    expect(value.toString(16).padStart(32, '0')).toBe(block.toString('hex'));
  });

  it('encode one at a time and many at once alike', () => {
    const seqs = Array.from({ length: 1000 }, (_, i) => i * 7919 + 1);
    const many = codec.encode(seqs);
    expect(seqs.map((s) => codec.encode([s])[0])).toEqual(many);
    expect(new Set(many).size).toBe(1000);
  });

  it('do not reveal order: consecutive seqs give unrelated ids', () => {
    const ids = codec.encode(Array.from({ length: 200 }, (_, i) => i + 1));
    const sorted = ids.slice().sort();
    expect(sorted).not.toEqual(ids);
    // About half the ids are smaller than their predecessor, as for random ids.
    const descents = ids.filter((id, i) => i > 0 && id < ids[i - 1]).length;
    expect(descents).toBeGreaterThan(60);
    expect(descents).toBeLessThan(140);
  });

  it('depend on the database key, and refuse ids they did not make', () => {
    const other = createEventIdCodec(randomBytes(16));
    const [id] = codec.encode([42]);
    expect(other.encode([42])[0]).not.toBe(id);
    expect(other.decode(id)).toBeUndefined(); // decodes to a block with non-zero high bytes
    for (const bad of ['evt_', 'cus_' + id.slice(4), 'evt_' + 'z'.repeat(26), 'evt_' + id.slice(4, 29), 'evt_0123456789ABCDEFGHJKMNPQR!', 'evt_01ARZ3NDEKTSV4RRFFQ69G5FAVU']) {
      expect(codec.decode(bad)).toBeUndefined();
    }
    expect(codec.decode('evt_' + id.slice(4).toUpperCase())).toBe(42);
  });
});
