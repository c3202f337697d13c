export * from './lookup.js';
export type * from './tables.js';
