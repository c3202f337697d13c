import {
  ContractList,
  ContractParams,
  ContractView,
  CreateContractInput,
  EndContractInput,
  ListContractsQuery,
  archiveContract,
  createContract,
  endContract,
  getContract,
  listContracts,
} from '../../core/contracts/index.js';
import { type RouteSpec, defineRoute } from '../http/route.js';
import type { ServerDeps } from '../deps.js';
import { merchantScope } from './catalog.js';

const read = { jwt: true, apiKey: true, scope: 'customers:read' } as const;
const write = { jwt: true, apiKey: true, scope: 'customers:write' } as const;

export function contractRoutes(_deps: ServerDeps): RouteSpec[] {
  return [
    defineRoute({
      method: 'post',
      path: '/contracts',
      operationId: 'createContract',
      summary: 'Bind a customer to a published rate-card version',
      description:
        'At most one contract per customer and product may cover any instant (409 contract_overlap). The rate card must be published (409 rate_card_not_published). startsAt may lie in the past. Billing periods are half-open [start, end) in UTC; see BillingCycle.',
      tags: ['Contracts'],
      auth: write,
      body: CreateContractInput,
      responses: { 201: { description: 'Created', schema: ContractView } },
      errors: [400, 401, 403, 404, 409],
      errorCodes: { 409: ['rate_card_not_published', 'contract_overlap', 'contract_metric_overlap', 'period_invoiced'] },
      handler: async ({ ctx, auth, body }) => ({ status: 201, body: await createContract(ctx, merchantScope(auth), body) }),
    }),
    defineRoute({
      method: 'get',
      path: '/contracts',
      operationId: 'listContracts',
      summary: 'List contracts',
      description: 'Oldest first, cursor-paginated; filter by customerExternalId, productId, status.',
      tags: ['Contracts'],
      auth: read,
      query: ListContractsQuery,
      responses: { 200: { description: 'A page of contracts', schema: ContractList } },
      errors: [400, 401, 403],
      handler: async ({ ctx, auth, query }) => ({ status: 200, body: await listContracts(ctx, merchantScope(auth), query) }),
    }),
    defineRoute({
      method: 'get',
      path: '/contracts/:contractId',
      operationId: 'getContract',
      summary: 'Get a contract',
      tags: ['Contracts'],
      auth: read,
      params: ContractParams,
      responses: { 200: { description: 'The contract', schema: ContractView } },
      errors: [401, 403, 404],
      handler: async ({ ctx, auth, params }) => ({ status: 200, body: await getContract(ctx, merchantScope(auth), params.contractId) }),
    }),
    defineRoute({
      method: 'post',
      path: '/contracts/:contractId/end',
      operationId: 'endContract',
      summary: "Set or move a contract's end",
      description:
        'endsAt defaults to now; it must be after startsAt, not inside an invoiced period (409 period_invoiced), and not run into another contract for the product (409 contract_overlap).',
      tags: ['Contracts'],
      auth: write,
      params: ContractParams,
      body: EndContractInput,
      responses: { 200: { description: 'The contract', schema: ContractView } },
      errors: [400, 401, 403, 404, 409],
      errorCodes: { 409: ['contract_overlap', 'contract_metric_overlap', 'period_invoiced'] },
      handler: async ({ ctx, auth, params, body }) => ({ status: 200, body: await endContract(ctx, merchantScope(auth), params.contractId, body) }),
    }),
    defineRoute({
      method: 'post',
      path: '/contracts/:contractId/archive',
      operationId: 'archiveContract',
      summary: 'Archive a contract that has ended or not yet started',
      description: 'Contracts are never deleted (invoices reference them). A running contract must be ended first (409 contract_running). Idempotent.',
      tags: ['Contracts'],
      auth: write,
      params: ContractParams,
      responses: { 200: { description: 'The archived contract', schema: ContractView } },
      errors: [401, 403, 404, 409],
      handler: async ({ ctx, auth, params }) => ({ status: 200, body: await archiveContract(ctx, merchantScope(auth), params.contractId) }),
    }),
  ];
}
