/**
 * Time-ordered identifiers (ULID layout: 48-bit millisecond time + 80 random bits, Crockford
 * base32, lowercased), prefixed by kind: `mer_01hwzq3k5n8ej4v2b7r9abc123`. Time order keeps
 * primary-key inserts at the right edge of the index, which is what makes bulk ingest fast.
 * Monotonic within one millisecond: the random part is incremented instead of redrawn.
 */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

export interface IdSource {
  /** A new id with the given prefix, e.g. next('mer') → 'mer_01…'. */
  next(prefix: string): string;
}

export type RandomBytes = (n: number) => Uint8Array;

export function createUlidSource(now: () => number, randomBytes: RandomBytes): IdSource {
  let lastTime = -1;
  const last = new Uint8Array(10);

  function encodeTime(ms: number): string {
    let out = '';
    for (let i = 9; i >= 0; i--) {
      const mod = ms % 32;
      out = ALPHABET[mod] + out;
      ms = (ms - mod) / 32;
    }
    return out;
  }

  function encodeRandom(bytes: Uint8Array): string {
    // 80 bits → 16 base32 characters, 5 bits at a time.
    let out = '';
    let buffer = 0;
    let bits = 0;
    for (const b of bytes) {
      buffer = (buffer << 8) | b;
      bits += 8;
      while (bits >= 5) {
        bits -= 5;
        out += ALPHABET[(buffer >> bits) & 31];
      }
      buffer &= (1 << bits) - 1;
    }
    return out;
  }

  return {
    next(prefix: string): string {
      let t = now();
      if (t <= lastTime) {
        t = lastTime;
        // increment the 80-bit random part; overflow is astronomically unlikely
        for (let i = 9; i >= 0; i--) {
          if (last[i] === 255) {
            last[i] = 0;
          } else {
            last[i]++;
            break;
          }
        }
      } else {
        lastTime = t;
        last.set(randomBytes(10));
      }
      return `${prefix}_${encodeTime(t)}${encodeRandom(last)}`;
    },
  };
}

/** The millisecond timestamp encoded in a ULID-style id. */
export function idTimestamp(id: string): number {
  const body = id.slice(id.indexOf('_') + 1, id.indexOf('_') + 11);
  let ms = 0;
  for (const ch of body) ms = ms * 32 + ALPHABET.indexOf(ch);
  return ms;
}
