import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/** The back office stays inside core/'s rules: no transport code, no wall clock, no Math.random. */
const coreDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const folders = ['backoffice', 'staff', 'audit'];

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [p] : [];
  });
}

describe('back-office layering', () => {
  const files = folders.flatMap((f) => sources(path.join(coreDir, f)));

  it('imports nothing from server, electron, renderer, express, react', () => {
    for (const file of files) {
      const text = fs.readFileSync(file, 'utf8');
      const imports = [...text.matchAll(/from\s+'([^']+)'/g)].map((m) => m[1]);
      for (const spec of imports) {
        expect(spec, `${path.relative(coreDir, file)} imports ${spec}`).not.toMatch(/(^|\/)(server|electron|renderer|test)\/|^(express|electron|react)$/);
      }
    }
  });

  it('reads neither the wall clock nor Math.random (time and ids come from the context)', () => {
    for (const file of files) {
      const text = fs.readFileSync(file, 'utf8');
      expect(text, path.relative(coreDir, file)).not.toMatch(/Date\.now\(\)|new Date\(\)|Math\.random\(/);
    }
  });
});
