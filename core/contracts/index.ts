export * from './contracts.js';
export * from './periods.js';
export * from './schemas.js';
export type * from './tables.js';
export * from './usage-summary.js';
