export * from './canonical-json.js';
export * from './db-errors.js';
export * from './products.js';
export * from './rate-cards.js';
export * from './schemas.js';
export type * from './tables.js';
