/** Human output: a table for lists (`{ items: [...] }`), `key: value` lines for the rest. */
export function formatHuman(data: unknown): string {
  if (data && typeof data === 'object' && !Array.isArray(data)) {
    const obj = data as Record<string, unknown>;
    const keys = Object.keys(obj);
    if (keys.length === 1 && Array.isArray(obj.items)) return formatTable(obj.items as Record<string, unknown>[]);
    return formatRecord(obj, '');
  }
  return scalar(data);
}

function scalar(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function formatRecord(obj: Record<string, unknown>, indent: string): string {
  const lines: string[] = [];
  for (const [k, v] of Object.entries(obj)) {
    if (Array.isArray(v) && v.length > 0 && v.every((x) => x && typeof x === 'object' && !Array.isArray(x))) {
      lines.push(`${indent}${k}:`);
      for (const item of v) {
        const sub = formatRecord(item as Record<string, unknown>, `${indent}    `).split('\n');
        sub[0] = `${indent}  - ${sub[0].trimStart()}`;
        lines.push(...sub);
      }
    } else if (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0) {
      lines.push(`${indent}${k}:`, formatRecord(v as Record<string, unknown>, `${indent}  `));
    } else {
      lines.push(`${indent}${k}: ${Array.isArray(v) ? v.map(scalar).join(', ') || '-' : scalar(v)}`);
    }
  }
  return lines.join('\n');
}

export function formatTable(rows: Record<string, unknown>[]): string {
  if (rows.length === 0) return '(none)';
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cells = rows.map((r) => columns.map((c) => scalar(r[c]).replace(/\s+/g, ' ').slice(0, 60)));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i].length)));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => v.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(columns), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}
