export * from './accounts.js';
export * from './destinations.js';
export * from './keys.js';
export * from './kyb.js';
export * from './schemas.js';
export * from './step-up.js';
export * from './two-factor.js';
export * from './view.js';
export type * from './tables.js';
