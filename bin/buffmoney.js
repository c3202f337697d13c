#!/usr/bin/env node
// The `buffmoney` back-office CLI. Plain JS so npm can link it; TypeScript sources load through tsx.
import { register } from 'tsx/esm/api';

register();
await import('../server/cli/main.ts');
