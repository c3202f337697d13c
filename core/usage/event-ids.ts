import { type Cipher, type Decipher, createCipheriv, createDecipheriv } from 'node:crypto';

/**
 * Public event ids, derived instead of stored.
 *
 * An event's id is `evt_` + the Crockford base32 of one AES-128 block: the encryption of its
 * `seq` (usage_events' integer key) under the database's own `usage_state.event_id_key`. AES is
 * a permutation of 128-bit blocks, so ids are unique exactly as seqs are, never change, and can
 * be decoded back to the row (`decode`) — while looking random: a merchant cannot read order,
 * timing or the platform's volume off them, as it could off a counter. Storing a random id
 * instead would add ~30 bytes and a second unique index to every row of the hottest table.
 *
 * ECB is the right mode here: each id is a single block, encrypted on its own (a pseudorandom
 * permutation), and many are encrypted in one call. The key is random per database, generated
 * by migration 0006; it is not a secret that protects money, only the ids' opacity.
 */
// Lower case, like every other id of the API (ULIDs are written in lower case); decoding takes both.
const CROCKFORD = '0123456789abcdefghjkmnpqrstvwxyz';
const DECODE = new Int8Array(128).fill(-1);
for (let i = 0; i < CROCKFORD.length; i++) {
  DECODE[CROCKFORD.charCodeAt(i)] = i;
  DECODE[CROCKFORD.toUpperCase().charCodeAt(i)] = i;
}

/** 16 bytes → 26 base32 characters (130 bits: two zero bits, then the block), like a ULID. */
function base32(block: Uint8Array, offset: number): string {
  let out = '';
  // 130 bits: two zero bits, then the 128 bits of the block, five at a time.
  let acc = 0;
  let bits = 2;
  for (let i = 0; i < 16; i++) {
    acc = ((acc << 8) | block[offset + i]) & 0xfff; // at most 4 + 8 bits pending
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += CROCKFORD[(acc >>> bits) & 31];
    }
  }
  return out;
}

function unbase32(text: string): Buffer | undefined {
  if (text.length !== 26) return undefined;
  const out = Buffer.alloc(16);
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < 26; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? DECODE[c] : -1;
    if (v < 0) return undefined;
    if (i === 0 && v > 7) return undefined; // more than 128 bits
    acc = ((acc << 5) | v) & 0xffff;
    bits += 5;
    if (i === 0) bits -= 2; // the first character carries 3 bits (after 2 zero bits)
    while (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >>> bits) & 0xff;
    }
  }
  return o === 16 ? out : undefined;
}

export interface EventIdCodec {
  /** The ids of these seqs, in order (one cipher call for all of them). */
  encode(seqs: readonly number[]): string[];
  /** The seq behind an id this codec made, or undefined for anything else. */
  decode(eventId: string): number | undefined;
}

export function createEventIdCodec(key: Uint8Array): EventIdCodec {
  if (key.length !== 16) throw new Error('event id key must be 16 bytes');
  let cipher: Cipher | undefined;
  let decipher: Decipher | undefined;
  return {
    encode(seqs) {
      if (seqs.length === 0) return [];
      const plain = Buffer.alloc(seqs.length * 16);
      for (let i = 0; i < seqs.length; i++) {
        const seq = seqs[i];
        if (!Number.isSafeInteger(seq) || seq < 0) throw new Error(`bad event seq ${seq}`);
        plain.writeUIntBE(seq, i * 16 + 10, 6); // seq < 2^48 (2.8e14 events)
      }
      cipher ??= createCipheriv('aes-128-ecb', key, null).setAutoPadding(false);
      const sealed = cipher.update(plain);
      const ids = new Array<string>(seqs.length);
      for (let i = 0; i < seqs.length; i++) ids[i] = 'evt_' + base32(sealed, i * 16);
      return ids;
    },
    decode(eventId) {
      if (!eventId.startsWith('evt_')) return undefined;
      const block = unbase32(eventId.slice(4));
      if (!block) return undefined;
      decipher ??= createDecipheriv('aes-128-ecb', key, null).setAutoPadding(false);
      const plain = decipher.update(block);
      for (let i = 0; i < 10; i++) if (plain[i] !== 0) return undefined;
      return plain.readUIntBE(10, 6);
    },
  };
}
