// Entry of a usage reader thread. Plain JavaScript: a worker does not inherit the parent's
// TypeScript loader, so it registers tsx itself before loading the TypeScript module.
import { register } from 'tsx/esm/api';

register();
await import('./reader-thread.ts');
