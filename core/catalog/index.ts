export * from './products.js';
export * from './rate-cards.js';
export * from './schemas.js';
export type * from './tables.js';
