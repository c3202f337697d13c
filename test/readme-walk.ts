import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The README's shell blocks as one bash script, in order, so the walk-through can be run the way
 * a reader runs it: `test/readme-walk.test.ts` runs it against a fresh server, and
 * `npx tsx test/readme-walk.ts | bash` prints it for a server of your own (B, BUFFMONEY_DB).
 *
 * Convention: every ```sh (or ```bash) block runs, except ```sh no-walk (the quick start's
 * npm install / npm start / npm test). ```sh rerun blocks run twice in a row, proving that they
 * can be run again.
 */

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface ReadmeBlock {
  /** 1-based line of the opening fence in README.md. */
  line: number;
  info: string[];
  code: string;
}

export function shellBlocks(markdown: string): ReadmeBlock[] {
  const blocks: ReadmeBlock[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)(.*)$/.exec(lines[i]);
    if (!open) continue;
    const end = lines.findIndex((l, j) => j > i && /^```\s*$/.test(l));
    if (end < 0) throw new Error(`README.md:${i + 1}: code block is not closed`);
    const info = [open[1], ...open[2].trim().split(/\s+/).filter(Boolean)];
    if (info[0] === 'sh' || info[0] === 'bash') blocks.push({ line: i + 1, info, code: lines.slice(i + 1, end).join('\n') });
    i = end;
  }
  return blocks;
}

export function walkedBlocks(markdown: string): ReadmeBlock[] {
  return shellBlocks(markdown).filter((b) => !b.info.includes('no-walk'));
}

/**
 * Every curl in a walked block must fail on an HTTP error (-f / --fail / --fail-with-body):
 * a walk that ignores failures proves nothing. Returns the offending lines.
 */
export function curlsWithoutFail(blocks: ReadmeBlock[]): string[] {
  const bad: string[] = [];
  for (const b of blocks) {
    b.code.split('\n').forEach((text, k) => {
      for (const m of text.matchAll(/(?:^|[\s(|;&])curl\s+((?:-\S+\s+)*)/g)) {
        const flags = m[1].split(/\s+/);
        if (!flags.some((f) => f === '--fail' || f === '--fail-with-body' || /^-[a-zA-Z]*f[a-zA-Z]*$/.test(f))) bad.push(`README.md:${b.line + 1 + k}: ${text.trim()}`);
      }
    });
  }
  return bad;
}

/** One bash script: stop at the first failing command and say which README line it came from. */
export function walkScript(blocks: ReadmeBlock[]): string {
  const parts = ['set -euo pipefail', `trap 'echo "README walk failed: $BASH_COMMAND (exit $?)" >&2' ERR`];
  for (const b of blocks) {
    parts.push(`printf '\\n--- README.md:${b.line}\\n' >&2`, b.code);
    if (b.info.includes('rerun')) {
      // a second later, as a reader running it again would: new time, new keys, a changed body
      parts.push('sleep 1', `printf '\\n--- README.md:${b.line} (run 2)\\n' >&2`, b.code);
    }
  }
  parts.push("printf '\\n--- README walk: done\\n' >&2");
  return `${parts.join('\n')}\n`;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.stdout.write(walkScript(walkedBlocks(fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8'))));
}
