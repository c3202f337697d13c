import {
  CreateCustomerInput,
  CustomerList,
  CustomerParams,
  CustomerView,
  ListCustomersQuery,
  UpdateCustomerInput,
  archiveCustomer,
  createCustomer,
  getCustomer,
  listCustomers,
  updateCustomer,
} from '../../core/customers/index.js';
import { type RouteSpec, defineRoute } from '../http/route.js';
import type { ServerDeps } from '../deps.js';
import { merchantScope } from './catalog.js';

const read = { jwt: true, apiKey: true, scope: 'customers:read' } as const;
const write = { jwt: true, apiKey: true, scope: 'customers:write' } as const;

export function customerRoutes(_deps: ServerDeps): RouteSpec[] {
  return [
    defineRoute({
      method: 'post',
      path: '/customers',
      operationId: 'createCustomer',
      summary: 'Create a customer',
      description: 'One per end customer, addressed by your own `externalId` (unique per merchant and environment; 409 customer_exists). Usage can be recorded without a contract.',
      tags: ['Customers'],
      auth: write,
      body: CreateCustomerInput,
      responses: { 201: { description: 'Created', schema: CustomerView } },
      errors: [400, 401, 403, 409],
      errorCodes: { 409: ['customer_exists'] },
      handler: async ({ ctx, auth, body }) => ({ status: 201, body: await createCustomer(ctx, merchantScope(auth), body) }),
    }),
    defineRoute({
      method: 'get',
      path: '/customers',
      operationId: 'listCustomers',
      summary: 'List customers',
      description: 'Oldest first, cursor-paginated.',
      tags: ['Customers'],
      auth: read,
      query: ListCustomersQuery,
      responses: { 200: { description: 'A page of customers', schema: CustomerList } },
      errors: [400, 401, 403],
      handler: async ({ ctx, auth, query }) => ({ status: 200, body: await listCustomers(ctx, merchantScope(auth), query) }),
    }),
    defineRoute({
      method: 'get',
      path: '/customers/:externalId',
      operationId: 'getCustomer',
      summary: 'Get a customer by your externalId',
      tags: ['Customers'],
      auth: read,
      params: CustomerParams,
      responses: { 200: { description: 'The customer', schema: CustomerView } },
      errors: [400, 401, 403, 404],
      handler: async ({ ctx, auth, params }) => ({ status: 200, body: await getCustomer(ctx, merchantScope(auth), params.externalId) }),
    }),
    defineRoute({
      method: 'patch',
      path: '/customers/:externalId',
      operationId: 'updateCustomer',
      summary: "Update a customer's name, email or metadata",
      description: 'Only supplied fields change. Archived customers cannot change (409 customer_archived).',
      tags: ['Customers'],
      auth: write,
      params: CustomerParams,
      body: UpdateCustomerInput,
      responses: { 200: { description: 'The updated customer', schema: CustomerView } },
      errors: [400, 401, 403, 404, 409],
      handler: async ({ ctx, auth, params, body }) => ({ status: 200, body: await updateCustomer(ctx, merchantScope(auth), params.externalId, body) }),
    }),
    defineRoute({
      method: 'post',
      path: '/customers/:externalId/archive',
      operationId: 'archiveCustomer',
      summary: 'Archive a customer',
      description: 'Customers are never deleted (invoices reference them). Refused while a contract is running (409 customer_has_active_contract). Idempotent.',
      tags: ['Customers'],
      auth: write,
      params: CustomerParams,
      responses: { 200: { description: 'The archived customer', schema: CustomerView } },
      errors: [400, 401, 403, 404, 409],
      errorCodes: { 409: ['customer_has_active_contract'] },
      handler: async ({ ctx, auth, params }) => ({ status: 200, body: await archiveCustomer(ctx, merchantScope(auth), params.externalId) }),
    }),
  ];
}
