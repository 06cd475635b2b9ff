#!/usr/bin/env node
// The `cairn` command. Runs the TypeScript sources directly through tsx's loader.
import { register } from 'tsx/esm/api';

// A server binary: libraries skip their development-only checks (graphql-js, for one, runs a
// cross-realm check on every type test while it coerces input, a third of the cost of a large
// logBatch). Set before any of them loads; an explicit NODE_ENV is kept.
process.env.NODE_ENV ??= 'production';
register();
const { main } = await import('../src/main.ts');
await main(process.argv.slice(2));
