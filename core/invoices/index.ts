export * from './amounts.js';
export * from './generate.js';
export type * from './tables.js';
export * from './unbilled.js';
export * from './view.js';
export * from './void.js';
