/**
 * Alipay speaks yuan as decimal text ("12.34") and local Beijing time ("2026-12-01 17:30:00");
 * the rest of BuffMoney speaks bigint fen and ISO-8601 UTC. These convert at the edge, exactly:
 * no Number, no Date parsing of strings whose zone Date would have to guess.
 */

/** 1234n → "12.34". Alipay wants exactly two decimals. */
export function fenToYuan(fen: bigint): string {
  if (fen < 0n) throw new RangeError(`a negative amount cannot be sent to Alipay: ${fen} fen`);
  const fraction = (fen % 100n).toString().padStart(2, '0');
  return `${fen / 100n}.${fraction}`;
}

const yuanText = /^(0|[1-9][0-9]*)(?:\.([0-9]{1,2}))?$/;

/** "12.34" / "12.3" / "12" → fen; anything else (a sign, an exponent, a third decimal) → null. */
export function yuanToFen(text: string): bigint | null {
  const match = yuanText.exec(text);
  if (!match) return null;
  const fraction = (match[2] ?? '').padEnd(2, '0');
  return BigInt(match[1]) * 100n + BigInt(fraction);
}

// China has kept UTC+8 without daylight saving since 1991, so a fixed offset is exact.
const shanghaiOffsetMs = 8 * 60 * 60 * 1000;

/** A UTC instant → "yyyy-MM-dd HH:mm:ss" on Beijing wall clocks (Alipay's time_expire, timestamp). */
export function toShanghaiTime(instant: Date): string {
  if (Number.isNaN(instant.getTime())) throw new RangeError('invalid date');
  // toISOString of the shifted instant prints the Beijing wall clock; drop the zone and millis.
  const iso = new Date(instant.getTime() + shanghaiOffsetMs).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
}

const shanghaiText = /^([0-9]{4})-([0-9]{2})-([0-9]{2}) ([0-9]{2}):([0-9]{2}):([0-9]{2})$/;

/** "yyyy-MM-dd HH:mm:ss" Beijing time → ISO-8601 UTC; null when the text is not such a time. */
export function fromShanghaiTime(text: string): string | null {
  const m = shanghaiText.exec(text);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1).map((part) => Number.parseInt(part, 10));
  const utc = Date.UTC(year, month - 1, day, hour, minute, second) - shanghaiOffsetMs;
  const back = new Date(utc + shanghaiOffsetMs);
  // Date.UTC rolls 2026-02-30 over into March: refuse instead of guessing.
  if (back.getUTCFullYear() !== year || back.getUTCMonth() !== month - 1 || back.getUTCDate() !== day || back.getUTCHours() !== hour || back.getUTCMinutes() !== minute) {
    return null;
  }
  return new Date(utc).toISOString();
}
