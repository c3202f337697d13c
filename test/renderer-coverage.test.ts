import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { backOffice } from '../core/backoffice/index.js';
import { COMMAND_COVERAGE } from '../renderer/src/coverage.js';

/**
 * Every registry command is placed in the UI (renderer/src/coverage.ts), and every command placed
 * on a screen is called from that screen's source. Later issues keep this green by adding screens.
 */
const rendererSrc = path.resolve(import.meta.dirname, '../renderer/src');

/** Commands a source file runs: run('name', …), useCommand('name', …) or useAllPages('name', …). */
function commandsCalledIn(file: string): Set<string> {
  const text = fs.readFileSync(file, 'utf8');
  // Called directly, or named in a table of commands the screen runs (`command: 'kyb:approve'`).
  return new Set([...text.matchAll(/\b(?:(?:run|useCommand|useAllPages)\(\s*|command: )'([a-z-]+:[a-z-]+)'/g)].map((m) => m[1]));
}

describe('the back office UI covers the registry', () => {
  it('places every registry command, and no other', () => {
    expect(Object.keys(COMMAND_COVERAGE).sort()).toEqual(backOffice.list().map((c) => c.name));
  });

  it('calls each command placed on a screen from that screen', () => {
    const missing: string[] = [];
    for (const [name, where] of Object.entries(COMMAND_COVERAGE)) {
      if (!('screen' in where)) continue;
      const file = path.join(rendererSrc, 'screens', `${where.screen}.tsx`);
      if (!commandsCalledIn(file).has(name)) missing.push(`${name} (${where.screen})`);
    }
    expect(missing).toEqual([]);
  });

  it('marks every command a screen calls as on a screen', () => {
    const unmarked: string[] = [];
    for (const entry of fs.readdirSync(path.join(rendererSrc, 'screens'))) {
      for (const name of commandsCalledIn(path.join(rendererSrc, 'screens', entry))) {
        const where = COMMAND_COVERAGE[name as keyof typeof COMMAND_COVERAGE];
        if (!where || !('screen' in where)) unmarked.push(`${name} in ${entry}`);
      }
    }
    expect(unmarked).toEqual([]);
  });
});
