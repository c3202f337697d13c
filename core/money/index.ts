export * from './currencies.js';
