export * from './decimal.js';
export * from './match.js';
export * from './rate.js';
export * from './schemas.js';
export * from './validate.js';
