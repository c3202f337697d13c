import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

/**
 * electron-builder.yml, checked without running electron-builder (it needs Electron's binary and
 * a network): the targets the issue asks for, the native modules out of the asar, and every file
 * it names either committed or made by the build scripts that `npm run dist` runs first.
 */
const root = path.resolve(import.meta.dirname, '../..');
const config = parse(fs.readFileSync(path.join(root, 'electron-builder.yml'), 'utf8')) as Record<string, any>;
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { main: string; scripts: Record<string, string> };
const electronBuild = fs.readFileSync(path.join(root, 'electron/build.ts'), 'utf8');
const viteConfig = fs.readFileSync(path.join(root, 'renderer/vite.config.ts'), 'utf8');

/** Folders under dist/ the build scripts write: electron/build.ts and the renderer's vite config. */
function builtBy(dir: string): boolean {
  if (dir === 'dist/renderer') return viteConfig.includes("'../dist/renderer'");
  if (dir === 'dist/electron') return electronBuild.includes("'dist/electron'");
  if (dir === 'dist/server') return electronBuild.includes("'dist/server'");
  return false;
}

describe('electron-builder.yml', () => {
  it('names the app and builds Linux AppImage and deb, macOS dmg, Windows nsis', () => {
    expect(config.appId).toMatch(/^[a-z]+(\.[a-z]+)+$/);
    expect(config.productName).toBe('BuffMoney');
    expect(config.linux.target).toEqual(['AppImage', 'deb']);
    expect(config.mac.target).toEqual(['dmg']);
    expect(config.win.target).toEqual(['nsis']);
  });

  it('rebuilds the native modules for Electron and unpacks them from the asar', () => {
    expect(config.npmRebuild).toBe(true);
    expect(config.asar).toBe(true);
    for (const native of ['better-sqlite3', 'bcrypt']) expect(config.asarUnpack).toContain(`node_modules/${native}/**/*`);
  });

  it('ships only the bundles and package.json, each made by the scripts npm run dist runs first', () => {
    expect(pkg.scripts.dist).toBe('npm run build:renderer && npm run build:electron && electron-builder');
    for (const pattern of config.files as string[]) {
      if (pattern === 'package.json') continue;
      const dir = pattern.replace(/\/\*\*\/\*$/, '');
      expect(builtBy(dir), `${pattern} is produced by a build script`).toBe(true);
    }
    expect(config.files).toEqual(expect.arrayContaining(['dist/electron/**/*', 'dist/renderer/**/*', 'dist/server/**/*', 'package.json']));
    // The entry point is inside what ships.
    expect(config.extraMetadata.main).toBe(pkg.main);
    expect(pkg.main).toBe('dist/electron/main.js');
    expect(electronBuild).toContain("path.join(out, 'main.js')");
  });

  it('finds its icons and resources in build/, committed', () => {
    expect(config.directories.buildResources).toBe('build');
    for (const os of ['linux', 'mac', 'win']) {
      const icon = config[os].icon as string;
      expect(fs.existsSync(path.join(root, icon)), icon).toBe(true);
    }
    const png = fs.readFileSync(path.join(root, 'build/icon.png'));
    expect(png.subarray(1, 4).toString('ascii')).toBe('PNG');
    // IHDR: 512×512, what electron-builder needs to derive .icns and .ico.
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([512, 512]);
    expect(fs.readFileSync(path.join(root, 'build/icon.svg'), 'utf8')).toContain('<svg');
  });
});
