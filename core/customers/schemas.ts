import { z } from 'zod';
import { PageQuery, pageOf } from '../pagination/index.js';

/** Request and response shapes of the customers API; the OpenAPI document is built from these. */

export const ExternalId = z
  .string()
  .min(1)
  .max(255)
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point of this pattern
  .regex(/^[^\u0000-\u001f\u007f]+$/, 'must not contain control characters')
  .meta({ description: "The merchant's own identifier for the end customer; unique per merchant and environment." });

export const CustomerMetadata = z
  .record(z.string().min(1).max(64), z.string().max(512))
  .refine((m) => Object.keys(m).length <= 50, 'at most 50 keys')
  .meta({ id: 'CustomerMetadata', description: 'Free-form string key/value pairs (at most 50).' });

export const CustomerName = z.string().trim().min(1).max(200);
export const CustomerEmail = z
  .string()
  .trim()
  .max(254)
  .pipe(z.email({ message: 'must be a valid email address' }));

export const CreateCustomerInput = z
  .strictObject({
    externalId: ExternalId,
    name: CustomerName,
    email: CustomerEmail.optional(),
    metadata: CustomerMetadata.optional(),
  })
  .meta({ id: 'CreateCustomerInput' });

export const UpdateCustomerInput = z
  .strictObject({
    name: CustomerName.optional(),
    email: CustomerEmail.nullable().optional().meta({ description: 'null clears it.' }),
    metadata: CustomerMetadata.optional().meta({ description: 'Replaces the whole map.' }),
  })
  .meta({ id: 'UpdateCustomerInput' });

export const CustomerView = z
  .object({
    id: z.string().meta({ description: 'cus_…' }),
    externalId: z.string(),
    name: z.string(),
    email: z.string().nullable(),
    metadata: z.record(z.string(), z.string()),
    status: z.enum(['active', 'archived']),
    autoCreated: z.boolean().meta({ description: 'Created by usage ingestion (merchant setting), not through this API.' }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Customer' });
export type CustomerView = z.infer<typeof CustomerView>;

export const CustomerList = pageOf(CustomerView, 'CustomerList');

export const ListCustomersQuery = PageQuery.extend({
  status: z.enum(['active', 'archived']).optional().meta({ description: 'Only customers in this status (default: all).' }),
});

export const CustomerParams = z.object({ externalId: ExternalId });
