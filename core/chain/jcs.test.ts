import { keccak256, toBytes } from 'viem';
import { describe, expect, it } from 'vitest';
import { NotJsonError, jcsCanonicalize, keccakOfCanonical, metadataCommitment } from './jcs.js';

/** The double with these IEEE 754 bits (big-endian hex), as RFC 8785 Appendix B lists them. */
function double(bits: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${bits}`));
  return view.getFloat64(0);
}

describe('RFC 8785 canonical JSON', () => {
  // Appendix B, "Number Serialization Samples": every finite row.
  it.each([
    ['0000000000000000', '0'],
    ['8000000000000000', '0'],
    ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['ffefffffffffffff', '-1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['44b52d02c7e14af7', '1.0000000000000001e+23'],
    ['444b1ae4d6e2ef4e', '999999999999999700000'],
    ['444b1ae4d6e2ef4f', '999999999999999900000'],
    ['444b1ae4d6e2ef50', '1e+21'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['41b3de4355555553', '333333333.3333332'],
    ['41b3de4355555554', '333333333.33333325'],
    ['41b3de4355555555', '333333333.3333333'],
    ['41b3de4355555556', '333333333.3333334'],
    ['41b3de4355555557', '333333333.33333343'],
    ['becbf647612f3696', '-0.0000033333333333333333'],
    ['43143ff3c1cb0959', '1424953923781206.2'],
  ])('Appendix B: 0x%s → %s', (bits, expected) => {
    expect(jcsCanonicalize(double(bits))).toBe(expected);
  });

  it('Appendix B: NaN and Infinity have no canonical form', () => {
    for (const bits of ['7fffffffffffffff', '7ff0000000000000', 'fff0000000000000']) expect(() => jcsCanonicalize(double(bits))).toThrow(NotJsonError);
  });

  it.each([
    // number literals as a JSON text writes them, read with JSON.parse
    ['0', '0'],
    ['-0', '0'],
    ['1E30', '1e+30'],
    ['333333333.33333329', '333333333.3333333'],
    ['0.000001', '0.000001'],
    ['1e-7', '1e-7'],
    ['4.50', '4.5'],
    ['2e-3', '0.002'],
    ['0.000000000000000000000000001', '1e-27'],
    ['1e21', '1e+21'],
    ['1e20', '100000000000000000000'],
  ])('numbers as JSON text writes them: %s → %s', (text, expected) => {
    expect(jcsCanonicalize(JSON.parse(text))).toBe(expected);
  });

  it('§3.2.2: the RFC’s input sample becomes its canonical output (numbers, string escapes, literals)', () => {
    const input = `{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\\\"\\/",
      "literals": [null, true, false]
    }`;
    const expected = `{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA'B\\"\\\\\\\\\\"/"}`;
    expect(jcsCanonicalize(JSON.parse(input))).toBe(expected);
    // §3.2.4: the UTF-8 bytes of that output, as the RFC prints them
    const rfcBytes = `7b 22 6c 69 74 65 72 61 6c 73 22 3a 5b 6e 75 6c 6c 2c 74 72 75 65 2c 66 61 6c 73 65 5d 2c 22 6e 75 6d 62 65 72 73 22 3a
      5b 33 33 33 33 33 33 33 33 33 2e 33 33 33 33 33 33 33 2c 31 65 2b 33 30 2c 34 2e 35 2c 30 2e 30 30 32 2c 31 65 2d 32 37
      5d 2c 22 73 74 72 69 6e 67 22 3a 22 e2 82 ac 24 5c 75 30 30 30 66 5c 6e 41 27 42 5c 22 5c 5c 5c 5c 5c 22 2f 22 7d`;
    expect(Buffer.from(expected, 'utf8').toString('hex')).toBe(rfcBytes.replace(/\s+/g, ''));
  });

  it('§3.2.3: properties sort by UTF-16 code units (the RFC’s sorting example)', () => {
    const input = `{
      "\\u20ac": "Euro Sign",
      "\\r": "Carriage Return",
      "\\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One",
      "\\ud83d\\ude00": "Emoji: Grinning Face",
      "\\u0080": "Control",
      "\\u00f6": "Latin Small Letter O With Diaeresis"
    }`;
    expect(jcsCanonicalize(JSON.parse(input))).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it('refuses what is not JSON, naming where', () => {
    expect(() => jcsCanonicalize(undefined)).toThrow(/^\$: undefined/);
    expect(() => jcsCanonicalize({ a: { b: undefined } })).toThrow(/^\$\.a\.b: undefined/);
    expect(() => jcsCanonicalize({ f: () => 1 })).toThrow(/\$\.f: a function/);
    expect(() => jcsCanonicalize({ n: 10n })).toThrow(/BigInt/);
    expect(() => jcsCanonicalize([1, Number.NaN])).toThrow(/\$\[1\]: NaN/);
    expect(() => jcsCanonicalize({ x: Number.POSITIVE_INFINITY })).toThrow(/Infinity/);
    expect(() => jcsCanonicalize({ d: new Date(0) })).toThrow(/Date object/);
    expect(() => jcsCanonicalize({ s: Symbol('x') })).toThrow(NotJsonError);
    // biome-ignore lint/suspicious/noSparseArray: the hole is the point
    expect(() => jcsCanonicalize([1, , 3])).toThrow(/missing array element/);
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = [deep];
    expect(() => jcsCanonicalize(deep)).toThrow(/deeper than/);
    expect(() => jcsCanonicalize({ s: '\ud800' })).toThrow(/surrogate/i);
  });

  it('the hash does not depend on key order or whitespace of the input', () => {
    const a = metadataCommitment(JSON.parse('{"name":"Acme Store","email":"hello@acme.io","version":1,"tags":{"b":2,"a":1}}'));
    const b = metadataCommitment(JSON.parse(' {\n  "version" : 1.0 ,\n "tags": { "a": 1, "b": 2 },\n  "email": "hello@acme.io", "name": "Acme Store" }\n'));
    expect(b).toEqual(a);
    expect(a.metadataJson).toBe('{"email":"hello@acme.io","name":"Acme Store","tags":{"a":1,"b":2},"version":1}');
    expect(a.metadataHash).toBe(keccak256(toBytes(a.metadataJson)));
    expect(a.metadataHash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(metadataCommitment({ name: 'Acme Store', email: 'hello@acme.io', version: 2 }).metadataHash).not.toBe(a.metadataHash);
  });

  it('hashes UTF-8 bytes, not UTF-16 code units', () => {
    expect(keccakOfCanonical('{"n":"é"}')).toBe(keccak256(Uint8Array.from(Buffer.from('{"n":"é"}', 'utf8'))));
    // keccak256 of the empty string: the well-known constant
    expect(keccakOfCanonical('')).toBe('0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470');
  });
});
