import { describe, expect, it } from 'vitest';
import { canonicalJson } from './index.js';

describe('canonical JSON (RFC 8785)', () => {
  it("sorts keys by UTF-16 code units at every depth, as the RFC's own example (§3.2.3)", () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    const keys = Object.keys(JSON.parse(canonicalJson(input)) as object);
    // JSON.parse rebuilds integer-like keys first, so compare the text's own key order instead.
    expect(keys).toContain('1');
    const order = [...canonicalJson(input).matchAll(/"((?:[^"\\]|\\.)*)":/g)].map((m) => JSON.parse(`"${m[1]}"`));
    expect(order).toEqual(['\r', '1', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33']);
  });

  it('does not let JavaScript put integer-like keys first', () => {
    // A plain JSON.stringify of this object writes "2" and "10" first (integer-like keys), in
    // numeric order; RFC 8785 compares code units: "10" < "2" < "a".
    const value = { a: 1, '2': 2, '10': 3 };
    expect(JSON.stringify(value)).toBe('{"2":2,"10":3,"a":1}');
    expect(canonicalJson(value)).toBe('{"10":3,"2":2,"a":1}');
    expect(canonicalJson({ nested: { z: [{ '2': true, '10': null }] } })).toBe('{"nested":{"z":[{"10":null,"2":true}]}}');
  });

  it('writes numbers and strings as ECMAScript does, drops undefined properties', () => {
    expect(canonicalJson({ n: 1e21, m: 0.000001, s: 'é\u2028', u: undefined, neg: -0 })).toBe('{"m":0.000001,"n":1e+21,"neg":0,"s":"é\u2028"}');
  });

  it('refuses what has no JSON form', () => {
    expect(() => canonicalJson(undefined)).toThrow(/no JSON form/);
    expect(() => canonicalJson({ x: Number.NaN })).toThrow();
  });
});
