/**
 * Draws the app icon: a bold white "B" on a dark blue rounded square, as build/icon.png (512×512,
 * what electron-builder derives the .icns and .ico from) and build/icon.svg, from one geometry.
 * A script rather than a drawing so the icon can be remade exactly: npx tsx build/make-icon.ts
 * The PNG is written by hand (node:zlib for the deflate), so nothing needs installing.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const SIZE = 512;
const BLUE = [30, 58, 138] as const; // #1e3a8a
const WHITE = [255, 255, 255] as const;

interface RoundBox {
  x: number;
  y: number;
  w: number;
  h: number;
  r: number;
}

const TILE: RoundBox = { x: 0, y: 0, w: 512, h: 512, r: 96 };
/** The letter: a stem and two bowls, less the bowls' counters (the stem hides the bowls' left-hand rounding). */
const INK: RoundBox[] = [
  { x: 150, y: 110, w: 78, h: 292, r: 0 },
  { x: 150, y: 110, w: 180, h: 140, r: 70 },
  { x: 150, y: 250, w: 200, h: 152, r: 76 },
];
const COUNTERS: RoundBox[] = [
  { x: 228, y: 158, w: 70, h: 44, r: 22 },
  { x: 228, y: 298, w: 90, h: 56, r: 28 },
];

/** Signed distance from a point to a rounded box (negative inside). */
function distance(b: RoundBox, px: number, py: number): number {
  const hx = b.w / 2;
  const hy = b.h / 2;
  const qx = Math.abs(px - (b.x + hx)) - hx + b.r;
  const qy = Math.abs(py - (b.y + hy)) - hy + b.r;
  return Math.hypot(Math.max(qx, 0), Math.max(qy, 0)) + Math.min(Math.max(qx, qy), 0) - b.r;
}

const inside = (b: RoundBox, x: number, y: number) => distance(b, x, y) <= 0;

function pixel(x: number, y: number): [number, number, number, number] {
  // 4×4 samples per pixel: smooth edges without a rasteriser.
  let tile = 0;
  let ink = 0;
  for (let sy = 0; sy < 4; sy++)
    for (let sx = 0; sx < 4; sx++) {
      const px = x + (sx + 0.5) / 4;
      const py = y + (sy + 0.5) / 4;
      if (!inside(TILE, px, py)) continue;
      tile++;
      if (INK.some((b) => inside(b, px, py)) && !COUNTERS.some((b) => inside(b, px, py))) ink++;
    }
  if (tile === 0) return [0, 0, 0, 0];
  const mix = (i: number) => Math.round((BLUE[i] * (tile - ink) + WHITE[i] * ink) / tile);
  return [mix(0), mix(1), mix(2), Math.round((tile / 16) * 255)];
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes: Buffer): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

export function iconPng(): Buffer {
  const raw = Buffer.alloc(SIZE * (SIZE * 4 + 1));
  for (let y = 0; y < SIZE; y++) {
    const row = y * (SIZE * 4 + 1);
    raw[row] = 0; // filter: none
    for (let x = 0; x < SIZE; x++) Buffer.from(pixel(x, y)).copy(raw, row + 1 + x * 4);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(SIZE, 0);
  header.writeUInt32BE(SIZE, 4);
  header[8] = 8; // bit depth
  header[9] = 6; // RGBA
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', zlib.deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

export function iconSvg(): string {
  const rect = (b: RoundBox, fill: string) => `  <rect x="${b.x}" y="${b.y}" width="${b.w}" height="${b.h}" rx="${b.r}" fill="${fill}"/>`;
  const blue = `#${BLUE.map((c) => c.toString(16).padStart(2, '0')).join('')}`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${SIZE}" height="${SIZE}" viewBox="0 0 ${SIZE} ${SIZE}">`,
    '  <title>BuffMoney</title>',
    rect(TILE, blue),
    ...INK.map((b) => rect(b, '#ffffff')),
    ...COUNTERS.map((b) => rect(b, blue)),
    '</svg>',
    '',
  ].join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  fs.writeFileSync(path.join(import.meta.dirname, 'icon.png'), iconPng());
  fs.writeFileSync(path.join(import.meta.dirname, 'icon.svg'), iconSvg());
  console.log('wrote build/icon.png (512×512) and build/icon.svg');
}
