export * from './api-keys.js';
export * from './encoding.js';
export * from './jwt.js';
export * from './passwords.js';
export * from './totp.js';
export { seal, open } from './secret-box.js';
