import { z } from 'zod';
import { invalidInput } from '../errors/index.js';

/**
 * Cursor pagination for list endpoints: `?limit=` (1–100, default 20) `&cursor=` →
 * `{ data, nextCursor }`. Rows are ordered by id, which is time-ordered (ULID), so the cursor is
 * just the last id seen (base64url, opaque to clients) and new rows never shift a page.
 */

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

export const PageQuery = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_PAGE_SIZE)
    .default(DEFAULT_PAGE_SIZE)
    .meta({ description: `Page size, 1–${MAX_PAGE_SIZE} (default ${DEFAULT_PAGE_SIZE}).` }),
  cursor: z.string().max(256).optional().meta({ description: 'The `nextCursor` of the previous page; omit for the first page.' }),
});

export interface PageRequest {
  limit: number;
  cursor?: string;
}

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

/** A list response schema: `{ data: T[], nextCursor }`. */
export function pageOf<T extends z.ZodType>(item: T, id: string) {
  return z
    .object({
      data: z.array(item),
      nextCursor: z.string().nullable().meta({ description: 'Pass as `cursor` for the next page; null on the last page.' }),
    })
    .meta({ id });
}

export function encodeCursor(id: string): string {
  return Buffer.from(id, 'utf8').toString('base64url');
}

/** The id a cursor stands for; 400 invalid_cursor for anything that is not one of ours. */
export function decodeCursor(cursor: string | undefined, idPrefix: string): string | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  const id = /^[A-Za-z0-9_-]+$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  if (!new RegExp(`^${idPrefix}_[0-9a-z]{26}$`).test(id)) throw invalidInput('invalid_cursor', 'cursor is not a nextCursor from this list');
  return id;
}

/** Cuts `limit + 1` fetched rows into a page: the extra row only says another page exists. */
export function toPage<R extends { id: string }, T>(rows: R[], limit: number, view: (row: R) => T): Page<T> {
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  return { data: kept.map(view), nextCursor: more ? encodeCursor(kept[kept.length - 1].id) : null };
}
