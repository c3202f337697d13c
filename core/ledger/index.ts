export * from './balances.js';
export * from './chart.js';
export * from './post.js';
export type * from './tables.js';
export * from './verify.js';
