export * from './customers.js';
export * from './lookup.js';
export * from './schemas.js';
export type * from './tables.js';
