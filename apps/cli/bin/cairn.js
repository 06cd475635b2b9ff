#!/usr/bin/env -S node --max-semi-space-size=64
// The `cairn` command. Runs the TypeScript sources directly through tsx's loader.
// The V8 flag above: a 64 MB young generation (semi-space; the default is 16 MB) halves garbage
// collection on the ingest path, where every logBatch parses and coerces thousands of short-lived
// objects (+12 % B1 throughput measured, idle memory unchanged; docs/benchmarks.md). It applies
// when this file is run as a program (`npx cairn`, the container's entrypoint); `node
// apps/cli/bin/cairn.js` runs without it.
import { register } from 'tsx/esm/api';

// A server binary: libraries skip their development-only checks (graphql-js, for one, runs a
// cross-realm check on every type test while it coerces input, a third of the cost of a large
// logBatch). Set before any of them loads; an explicit NODE_ENV is kept.
process.env.NODE_ENV ??= 'production';
register();
const { main } = await import('../src/main.ts');
await main(process.argv.slice(2));
