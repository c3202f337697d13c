import fc from 'fast-check';
import Papa from 'papaparse';
import { describe, expect, it } from 'vitest';
import { base64Bytes, csvFileName, formulaSafe, minorToDecimal, toCsv } from './csv';

const FORMULA_CHARS = ['=', '+', '-', '@', '\t', '\r'];

/** Parses an exported file back, as a spreadsheet import would (BOM removed first). */
function parseBack(text: string): string[][] {
  expect(text.startsWith('\uFEFF')).toBe(true);
  const parsed = Papa.parse<string[]>(text.slice(1), { skipEmptyLines: false, newline: '\r\n', delimiter: ',' });
  expect(parsed.errors).toEqual([]);
  // The file ends with CRLF, which papaparse reads as one empty last line.
  expect(parsed.data.at(-1)).toEqual(['']);
  return parsed.data.slice(0, -1);
}

// Text that often starts with a formula character, quotes, commas, line breaks and CJK.
const cellArb = fc.oneof(
  fc.string(),
  fc.string({ unit: fc.constantFrom('=', '+', '-', '@', '\t', '\r', '\n', '"', ',', ';', "'", ' ', 'a', '1', '.', '发', '票') }),
  fc.tuple(fc.constantFrom(...FORMULA_CHARS), fc.string()).map(([c, s]) => c + s),
  fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }).map(String),
);

describe('CSV export is formula-safe (OWASP CSV injection)', () => {
  it('quotes-prefixes cells that a spreadsheet would run as a formula', () => {
    expect(formulaSafe('=HYPERLINK("http://evil.test","x")')).toBe('\'=HYPERLINK("http://evil.test","x")');
    expect(formulaSafe('+86 138 0000 0000')).toBe("'+86 138 0000 0000");
    expect(formulaSafe('-2+3')).toBe("'-2+3");
    expect(formulaSafe('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(formulaSafe('\t=1')).toBe("'\t=1");
    expect(formulaSafe('\r=1')).toBe("'\r=1");
    expect(formulaSafe('Acme = good')).toBe('Acme = good');
  });

  it('leaves plain decimal numbers alone, negative amounts included', () => {
    expect(formulaSafe('-1234.56')).toBe('-1234.56');
    expect(formulaSafe('-5')).toBe('-5');
    expect(formulaSafe('+5')).toBe("'+5"); // not how we write numbers: treated as text
    expect(formulaSafe('-1e5')).toBe("'-1e5");
  });

  it('property: no parsed-back cell starts with a formula character unless it is a plain number or was quote-prefixed', () => {
    fc.assert(
      fc.property(fc.array(fc.array(cellArb, { minLength: 2, maxLength: 2 }), { minLength: 1, maxLength: 8 }), (rows) => {
        const back = parseBack(toCsv(['a', 'b'], rows));
        for (const cell of back.slice(1).flat()) {
          if (FORMULA_CHARS.includes(cell[0])) expect(cell).toMatch(/^-?\d+(\.\d+)?$/);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('property: round-trips through papaparse: each cell comes back as written, bar the added quote', () => {
    fc.assert(
      fc.property(fc.array(fc.array(cellArb, { minLength: 3, maxLength: 3 }), { minLength: 0, maxLength: 8 }), (rows) => {
        const back = parseBack(toCsv(['Number', '客户', '=Total'], rows));
        expect(back[0]).toEqual(['Number', '客户', "'=Total"]);
        expect(back.slice(1)).toEqual(rows.map((r) => r.map((c) => formulaSafe(c))));
        // and the prefix is the only change
        for (const [i, row] of back.slice(1).entries()) {
          for (const [j, cell] of row.entries()) expect([rows[i][j], `'${rows[i][j]}`]).toContain(cell);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('keeps empty cells and header-only files intact', () => {
    expect(parseBack(toCsv(['a'], [[''], ['x']]))).toEqual([['a'], [''], ['x']]);
    expect(parseBack(toCsv(['a', 'b'], []))).toEqual([['a', 'b']]);
  });

  it('writes a UTF-8 BOM and CRLF lines, so Excel reads Chinese text right', () => {
    const text = toCsv(['客户', 'Amount'], [['上海深度求索', '-12.50']]);
    expect(text).toBe('\uFEFF客户,Amount\r\n上海深度求索,-12.50\r\n');
  });
});

describe('amounts export as exact plain decimals from minor units', () => {
  it('uses the currency exponent, keeps the sign and every digit', () => {
    expect(minorToDecimal('123456', 'USD')).toBe('1234.56');
    expect(minorToDecimal('-5', 'CNY')).toBe('-0.05');
    expect(minorToDecimal('-0', 'CNY')).toBe('0.00');
    expect(minorToDecimal('7', 'JPY')).toBe('7');
    expect(minorToDecimal('1', 'USDC')).toBe('0.000001');
    expect(minorToDecimal('90071992547409931234', 'USD')).toBe('900719925474099312.34');
  });

  it('property: the decimal is the minor amount divided by 10^exponent, exactly', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), fc.constantFrom('USD', 'CNY', 'JPY', 'USDT'), (minor, currency) => {
        const text = minorToDecimal(minor.toString(), currency);
        expect(text).toMatch(/^-?\d+(\.\d+)?$/);
        expect(formulaSafe(text)).toBe(text);
        expect(BigInt(text.replace('.', ''))).toBe(minor);
      }),
    );
  });
});

describe('file name', () => {
  it('comes from the table label and the date', () => {
    expect(csvFileName('Invoices', new Date('2026-07-05T10:00:00Z'))).toBe('invoices-2026-07-05.csv');
    expect(csvFileName('FX snapshot', new Date('2026-07-05T10:00:00Z'))).toBe('fx-snapshot-2026-07-05.csv');
    expect(csvFileName('发票 列表', new Date('2026-07-05T10:00:00Z'))).toBe('发票-列表-2026-07-05.csv');
    expect(csvFileName('***', new Date('2026-07-05T10:00:00Z'))).toBe('table-2026-07-05.csv');
  });
});

describe('base64Bytes', () => {
  it('gives back exactly the bytes a command sent (a payout file: UTF-8 CJK, CRLF, no BOM added)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
        expect([...base64Bytes(Buffer.from(bytes).toString('base64'))]).toEqual([...bytes]);
      }),
    );
    const file = 'reference,beneficiary_name\r\nBM-1,北京智谱科技有限公司\r\n';
    expect(new TextDecoder().decode(base64Bytes(Buffer.from(file, 'utf8').toString('base64')))).toBe(file);
  });
});
