// Writes the sample KYB documents the README submits: two one-page PDFs and a small JPEG, all
// valid files (KYB checks the type by content), all plainly marked as samples.
// Run: node docs/samples/generate.mjs
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/** A one-page PDF 1.4 with a few lines of Helvetica text and a correct xref table. */
function pdf(lines) {
  const text = lines.map((l, i) => `BT /F1 ${i === 0 ? 16 : 11} Tf 56 ${780 - i * 22} Td (${l.replace(/[()\\]/g, '\\$&')}) Tj ET`).join('\n');
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>',
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>',
    `<< /Length ${Buffer.byteLength(text, 'latin1')} >>\nstream\n${text}\nendstream`,
  ];
  let out = '%PDF-1.4\n';
  const offsets = [];
  objects.forEach((body, i) => {
    offsets.push(Buffer.byteLength(out, 'latin1'));
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = Buffer.byteLength(out, 'latin1');
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

/**
 * A baseline greyscale JPEG whose 8×8 blocks are flat (DC coefficients only): enough for a
 * recognisable picture at block resolution, and no DCT needed. `blocks` is rows of grey levels.
 */
function jpeg(blocks) {
  const rows = blocks.length;
  const cols = blocks[0].length;
  const seg = (marker, body) => Buffer.concat([Buffer.from([0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 0xff]), body]);
  // Standard luminance DC table (ITU T.81 K.3); the AC table has one code: EOB.
  const dcBits = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
  const dcVals = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
  const dcCodes = [];
  let code = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    for (let n = 0; n < dcBits[len - 1]; n++) dcCodes[dcVals[k++]] = { code: code++, len };
    code <<= 1;
  }
  const bits = [];
  const put = (value, len) => {
    for (let i = len - 1; i >= 0; i--) bits.push((value >> i) & 1);
  };
  let prev = 0;
  for (const row of blocks) {
    for (const grey of row) {
      const dc = grey - 128; // quantiser 8 on a flat block: DC = 8 × (grey − 128) / 8
      const diff = dc - prev;
      prev = dc;
      const size = diff === 0 ? 0 : Math.floor(Math.log2(Math.abs(diff))) + 1;
      put(dcCodes[size].code, dcCodes[size].len);
      if (size > 0) put(diff > 0 ? diff : diff + (1 << size) - 1, size);
      put(0, 1); // EOB
    }
  }
  while (bits.length % 8) bits.push(1);
  const scan = [];
  for (let i = 0; i < bits.length; i += 8) {
    const byte = Number.parseInt(bits.slice(i, i + 8).join(''), 2);
    scan.push(byte);
    if (byte === 0xff) scan.push(0x00); // byte stuffing
  }
  const w = cols * 8;
  const h = rows * 8;
  return Buffer.concat([
    Buffer.from([0xff, 0xd8]),
    seg(0xe0, Buffer.from([0x4a, 0x46, 0x49, 0x46, 0x00, 1, 1, 0, 0, 1, 0, 1, 0, 0])), // JFIF 1.1
    seg(0xfe, Buffer.from('BuffMoney sample owner ID - not a real document', 'latin1')),
    seg(0xdb, Buffer.from([0x00, ...new Array(64).fill(8)])),
    seg(0xc0, Buffer.from([8, h >> 8, h & 0xff, w >> 8, w & 0xff, 1, 1, 0x11, 0])),
    seg(0xc4, Buffer.from([0x00, ...dcBits, ...dcVals])),
    seg(0xc4, Buffer.from([0x10, 1, ...new Array(15).fill(0), 0x00])),
    seg(0xda, Buffer.from([1, 1, 0x00, 0, 63, 0])),
    Buffer.from(scan),
    Buffer.from([0xff, 0xd9]),
  ]);
}

// An ID card at block resolution: a photo square on the left, text bars on the right.
const card = [];
for (let r = 0; r < 8; r++) {
  const row = [];
  for (let c = 0; c < 12; c++) {
    let g = 235;
    if (r === 0 || r === 7 || c === 0 || c === 11)
      g = 120; // border
    else if (c >= 1 && c <= 4 && r >= 2 && r <= 6)
      g = r === 2 && (c === 1 || c === 4) ? 200 : 90; // photo
    else if (c >= 6 && c <= 10 && (r === 2 || r === 4 || r === 6)) g = 60; // text lines
    row.push(g);
  }
  card.push(row);
}

const sample = 'SAMPLE for the BuffMoney README walk-through - not a real document';
const files = {
  'registration.pdf': pdf(['Certificate of company registration', sample, 'Company: Acme AI Ltd', 'Registration number: 91310000MA1FL0000X', 'Country: CN']),
  'bank-statement.pdf': pdf(['Bank statement', sample, 'Account holder: Acme AI Ltd', 'Account: **** 0000']),
  'owner-id.jpg': jpeg(card),
};
for (const [name, content] of Object.entries(files)) {
  fs.writeFileSync(path.join(here, name), content);
  console.log(`${name}: ${content.length} bytes`);
}
