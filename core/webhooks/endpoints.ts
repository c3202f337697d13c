import type { z } from 'zod';
import { open, seal } from '../auth/secret-box.js';
import { type CoreContext, DAY, type Environment, type MerchantScope } from '../context/index.js';
import { inTransaction } from '../db/transaction.js';
import { conflict, notFound } from '../errors/index.js';
import { checkWebhookUrl } from '../net/ssrf.js';
import { type Page, type PageRequest, decodeCursor, toPage } from '../pagination/index.js';
import {
  type CreateWebhookEndpointInput,
  MAX_ENDPOINTS_PER_ENVIRONMENT,
  type RotatedSecret,
  type UpdateWebhookEndpointInput,
  type WebhookEndpointSchema,
  type WebhookEndpointWithSecret,
} from './schemas.js';
import { generateWebhookSecret } from './signing.js';
import type { WebhookEndpointsTable } from './tables.js';

/**
 * Webhook endpoints, per merchant and environment like all merchant data. Each has its own
 * signing secret (`whsec_…`), shown once at creation and sealed at rest with the data key
 * (AES-256-GCM, bound to the endpoint id): unlike an API key it cannot be stored as a hash, since
 * every delivery needs it to compute the HMAC. Rotating keeps the previous secret signing too for
 * PREVIOUS_SECRET_TTL_MS.
 *
 * The merchant profile's `webhookUrl` is the `profile` endpoint of the live environment:
 * subscribed to every event type, created and moved with the profile field (syncProfileEndpoint),
 * its secret obtained by rotating it. Sandbox events go only to sandbox endpoints, registered
 * with a sandbox credential (or the dashboard in the sandbox environment).
 */
export const PREVIOUS_SECRET_TTL_MS = DAY;
export const PROFILE_ENVIRONMENT: Environment = 'live';

type EndpointView = z.infer<typeof WebhookEndpointSchema>;

const secretAad = (endpointId: string) => `webhook-endpoint-secret:${endpointId}`;

export function endpointView(r: WebhookEndpointsTable): EndpointView {
  return {
    id: r.id,
    environment: r.environment,
    source: r.source,
    url: r.url,
    description: r.description,
    eventTypes: JSON.parse(r.event_types),
    enabled: r.enabled === 1,
    status: r.enabled === 1 ? 'enabled' : 'disabled',
    disabledReason: r.enabled === 1 ? null : (r.disabled_reason ?? 'merchant'),
    disabledDetail: r.enabled === 1 ? null : r.disabled_detail,
    disabledAt: r.enabled === 1 ? null : r.disabled_at,
    failingSince: r.failing_since,
    previousSecretExpiresAt: r.previous_secret_expires_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** The secrets a delivery is signed with at `now`: the current one, and the previous while it lives. */
export function signingSecrets(ctx: CoreContext, r: Pick<WebhookEndpointsTable, 'id' | 'secret_enc' | 'previous_secret_enc' | 'previous_secret_expires_at'>, now: Date): string[] {
  const secrets = [open(ctx.secrets.dataKey, r.secret_enc, secretAad(r.id))];
  if (r.previous_secret_enc && r.previous_secret_expires_at && new Date(r.previous_secret_expires_at).getTime() > now.getTime()) {
    secrets.push(open(ctx.secrets.dataKey, r.previous_secret_enc, secretAad(r.id)));
  }
  return secrets;
}

export function subscribes(r: Pick<WebhookEndpointsTable, 'event_types'>, type: string): boolean {
  const types = JSON.parse(r.event_types) as string[];
  return types.includes('*') || types.includes(type);
}

async function checkedUrl(ctx: CoreContext, url: string): Promise<string> {
  return (await checkWebhookUrl(url, ctx.policy, ctx.resolveHost)).url;
}

const endpointNotFound = (id: string) => notFound('webhook_endpoint_not_found', `No webhook endpoint ${id}`);

/** An endpoint of the scope (not deleted); 404 for another merchant's or environment's. */
export async function loadEndpointRow(ctx: CoreContext, scope: MerchantScope, endpointId: string): Promise<WebhookEndpointsTable> {
  const row = await ctx.db.kysely
    .selectFrom('webhook_endpoints')
    .selectAll()
    .where('id', '=', endpointId)
    .where('merchant_id', '=', scope.merchantId)
    .where('environment', '=', scope.environment)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  if (!row) throw endpointNotFound(endpointId);
  return row;
}

async function insertEndpoint(
  ctx: CoreContext,
  scope: MerchantScope,
  fields: { source: 'api' | 'profile'; url: string; description: string | null; eventTypes: string[]; enabled: boolean },
): Promise<{ row: WebhookEndpointsTable; secret: string }> {
  const now = ctx.clock.now().toISOString();
  const id = ctx.ids.next('we');
  const secret = generateWebhookSecret(ctx.randomBytes);
  const row: WebhookEndpointsTable = {
    id,
    merchant_id: scope.merchantId,
    environment: scope.environment,
    source: fields.source,
    url: fields.url,
    description: fields.description,
    event_types: JSON.stringify(fields.eventTypes),
    enabled: fields.enabled ? 1 : 0,
    disabled_reason: fields.enabled ? null : 'merchant',
    disabled_detail: null,
    disabled_at: fields.enabled ? null : now,
    failing_since: null,
    secret_enc: seal(ctx.secrets.dataKey, secret, secretAad(id)),
    previous_secret_enc: null,
    previous_secret_expires_at: null,
    created_at: now,
    updated_at: now,
    deleted_at: null,
  };
  await ctx.db.kysely.insertInto('webhook_endpoints').values(row).execute();
  return { row, secret };
}

export async function createWebhookEndpoint(
  ctx: CoreContext,
  scope: MerchantScope,
  input: z.infer<typeof CreateWebhookEndpointInput>,
): Promise<z.infer<typeof WebhookEndpointWithSecret>> {
  const url = await checkedUrl(ctx, input.url);
  return inTransaction(ctx, async (tx) => {
    const count = await tx.db.kysely
      .selectFrom('webhook_endpoints')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('merchant_id', '=', scope.merchantId)
      .where('environment', '=', scope.environment)
      .where('source', '=', 'api')
      .where('deleted_at', 'is', null)
      .executeTakeFirstOrThrow();
    if (Number(count.n) >= MAX_ENDPOINTS_PER_ENVIRONMENT) {
      throw conflict('webhook_endpoint_limit', `At most ${MAX_ENDPOINTS_PER_ENVIRONMENT} webhook endpoints per environment: delete one first`);
    }
    const { row, secret } = await insertEndpoint(tx, scope, {
      source: 'api',
      url,
      description: input.description ?? null,
      eventTypes: input.eventTypes ?? ['*'],
      enabled: input.enabled ?? true,
    });
    return { ...endpointView(row), secret };
  });
}

export async function listWebhookEndpoints(ctx: CoreContext, scope: MerchantScope, page: PageRequest): Promise<Page<EndpointView>> {
  let q = ctx.db.kysely
    .selectFrom('webhook_endpoints')
    .selectAll()
    .where('merchant_id', '=', scope.merchantId)
    .where('environment', '=', scope.environment)
    .where('deleted_at', 'is', null)
    .orderBy('id')
    .limit(page.limit + 1);
  const after = decodeCursor(page.cursor, 'we');
  if (after) q = q.where('id', '>', after);
  return toPage(await q.execute(), page.limit, endpointView);
}

export async function getWebhookEndpoint(ctx: CoreContext, scope: MerchantScope, endpointId: string): Promise<EndpointView> {
  return endpointView(await loadEndpointRow(ctx, scope, endpointId));
}

const profileManaged = () =>
  conflict(
    'webhook_endpoint_profile_managed',
    "This endpoint is the merchant profile's webhookUrl: change or remove it with PATCH /merchants/me (it always receives every event type)",
  );

export async function updateWebhookEndpoint(ctx: CoreContext, scope: MerchantScope, endpointId: string, patch: z.infer<typeof UpdateWebhookEndpointInput>): Promise<EndpointView> {
  // Refused before the URL is even resolved: the profile endpoint's URL is not this API's.
  if ((await loadEndpointRow(ctx, scope, endpointId)).source === 'profile' && (patch.url !== undefined || patch.eventTypes !== undefined)) throw profileManaged();
  const url = patch.url === undefined ? undefined : await checkedUrl(ctx, patch.url);
  return inTransaction(ctx, async (tx) => {
    const row = await loadEndpointRow(tx, scope, endpointId);
    if (row.source === 'profile' && (url !== undefined || patch.eventTypes !== undefined)) throw profileManaged();
    const now = tx.clock.now().toISOString();
    const set: Partial<WebhookEndpointsTable> = { updated_at: now };
    if (url !== undefined) set.url = url;
    if (patch.description !== undefined) set.description = patch.description;
    if (patch.eventTypes !== undefined) set.event_types = JSON.stringify(patch.eventTypes);
    if (patch.enabled === true && row.enabled === 0) Object.assign(set, { enabled: 1, disabled_reason: null, disabled_detail: null, disabled_at: null, failing_since: null });
    if (patch.enabled === false && row.enabled === 1)
      Object.assign(set, { enabled: 0, disabled_reason: 'merchant', disabled_detail: 'turned off by the merchant', disabled_at: now });
    await tx.db.kysely.updateTable('webhook_endpoints').set(set).where('id', '=', row.id).execute();
    return endpointView({ ...row, ...set });
  });
}

/**
 * Deletes an endpoint: it stops receiving at once (pending deliveries end `failed`, see
 * deliver.ts); the row and its delivery log are kept, unlisted, for the record.
 */
export async function deleteWebhookEndpoint(ctx: CoreContext, scope: MerchantScope, endpointId: string): Promise<void> {
  await inTransaction(ctx, async (tx) => {
    const row = await loadEndpointRow(tx, scope, endpointId);
    if (row.source === 'profile') throw profileManaged();
    const now = tx.clock.now().toISOString();
    await tx.db.kysely.updateTable('webhook_endpoints').set({ deleted_at: now, enabled: 0, updated_at: now }).where('id', '=', row.id).execute();
  });
}

/** A new secret (shown once); the previous one keeps signing for 24 hours. */
export async function rotateWebhookSecret(ctx: CoreContext, scope: MerchantScope, endpointId: string): Promise<z.infer<typeof RotatedSecret>> {
  return inTransaction(ctx, async (tx) => {
    const row = await loadEndpointRow(tx, scope, endpointId);
    const now = tx.clock.now();
    const secret = generateWebhookSecret(tx.randomBytes);
    const previousSecretExpiresAt = new Date(now.getTime() + PREVIOUS_SECRET_TTL_MS).toISOString();
    await tx.db.kysely
      .updateTable('webhook_endpoints')
      .set({
        secret_enc: seal(tx.secrets.dataKey, secret, secretAad(row.id)),
        previous_secret_enc: row.secret_enc,
        previous_secret_expires_at: previousSecretExpiresAt,
        updated_at: now.toISOString(),
      })
      .where('id', '=', row.id)
      .execute();
    return { endpointId: row.id, secret, previousSecretExpiresAt };
  });
}

/**
 * Keeps the live `profile` endpoint in step with the merchant's `webhookUrl` (already
 * SSRF-checked), inside the caller's transaction: created with a fresh secret, moved (and
 * re-enabled) when the URL changes, deleted when it is cleared.
 */
export async function syncProfileEndpoint(ctx: CoreContext, merchantId: string, webhookUrl: string | null): Promise<void> {
  const scope = { merchantId, environment: PROFILE_ENVIRONMENT };
  const existing = await ctx.db.kysely
    .selectFrom('webhook_endpoints')
    .selectAll()
    .where('merchant_id', '=', merchantId)
    .where('environment', '=', PROFILE_ENVIRONMENT)
    .where('source', '=', 'profile')
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  const now = ctx.clock.now().toISOString();
  if (webhookUrl === null) {
    if (existing) await ctx.db.kysely.updateTable('webhook_endpoints').set({ deleted_at: now, enabled: 0, updated_at: now }).where('id', '=', existing.id).execute();
    return;
  }
  if (!existing) {
    await insertEndpoint(ctx, scope, { source: 'profile', url: webhookUrl, description: 'The merchant profile webhookUrl', eventTypes: ['*'], enabled: true });
    return;
  }
  if (existing.url === webhookUrl) return;
  await ctx.db.kysely
    .updateTable('webhook_endpoints')
    .set({ url: webhookUrl, enabled: 1, disabled_reason: null, disabled_detail: null, disabled_at: null, failing_since: null, updated_at: now })
    .where('id', '=', existing.id)
    .execute();
}
