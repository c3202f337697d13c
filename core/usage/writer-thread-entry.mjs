// Entry of the usage writer thread. Plain JavaScript: a worker does not inherit the parent's
// TypeScript loader, so it registers tsx itself before loading the TypeScript module.
import { register } from 'tsx/esm/api';

register();
await import('./writer-thread.ts');
