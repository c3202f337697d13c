import { expect } from 'vitest';
import type { TestServer } from '../../test/helpers.js';

/** Shared steps for the catalog, customers, contracts and usage-summary HTTP tests. */

export type Caller = (method: string, path: string, body?: unknown) => ReturnType<TestServer['call']>;

/** Calls as a holder of an API key (Authorization: Bearer bm_…). */
export function withKey(server: TestServer, key: string): Caller {
  return (method, path, body) => server.call(method, `/api/v1${path}`, { headers: { authorization: `Bearer ${key}` }, body });
}

/** Calls as the merchant's dashboard session, in the given environment. */
export function withSession(server: TestServer, token: string, environment: 'sandbox' | 'live' = 'sandbox'): Caller {
  return (method, path, body) => server.call(method, `/api/v1${path}`, { headers: { authorization: `Bearer ${token}`, 'buffmoney-environment': environment }, body });
}

/** Replaces the merchant's sandbox key with one carrying only `scopes`. */
export async function keyWithScopes(server: TestServer, token: string, scopes: string[]): Promise<string> {
  const res = await server.call('POST', '/api/v1/merchants/me/rotate-key', {
    headers: { authorization: `Bearer ${token}` },
    body: { environment: 'sandbox', scopes },
  });
  expect(res.status, res.text).toBe(200);
  return res.body.apiKey as string;
}

export async function created(res: Awaited<ReturnType<Caller>>, status = 201) {
  expect(res.status, res.text).toBe(status);
  return res.body;
}

let productCounter = 0;

/** A product with one published rate card; returns both. */
export async function publishedRateCard(api: Caller, prices: unknown[], opts: { key?: string; currency?: string } = {}) {
  const product = await created(await api('POST', '/products', { key: opts.key ?? `product_${++productCounter}`, name: 'Chat API' }));
  const card = await created(await api('POST', `/products/${product.id}/rate-cards`, { currency: opts.currency ?? 'USD', prices }));
  const published = await created(await api('POST', `/rate-cards/${card.id}/publish`), 200);
  return { product, rateCard: published };
}

/** Every page of a list endpoint, following nextCursor. */
export async function allPages(api: Caller, path: string, limit: number): Promise<{ pages: any[][]; items: any[] }> {
  const pages: any[][] = [];
  let cursor: string | null = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const res = await api('GET', `${path}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    expect(res.status, res.text).toBe(200);
    pages.push(res.body.data);
    cursor = res.body.nextCursor;
  } while (cursor && pages.length < 100);
  return { pages, items: pages.flat() };
}
