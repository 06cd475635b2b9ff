#!/usr/bin/env -S node --max-semi-space-size=64
// The `cairn` command. Runs the compiled server (apps/cli/dist, built by `npm ci` / `npm start`
// through scripts/build-server.mjs) when it is there and no source it was built from changed
// since; otherwise the TypeScript sources through tsx's loader, saying so on stderr.
// The V8 flag above: a 64 MB young generation (semi-space; the default is 16 MB) halves garbage
// collection on the ingest path, where every logBatch parses and coerces thousands of short-lived
// objects (+12 % B1 throughput measured, idle memory unchanged; docs/benchmarks.md). It applies
// when this file is run as a program (`npx cairn`, the container's entrypoint); `node
// apps/cli/bin/cairn.js` runs without it.
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// A server binary: libraries skip their development-only checks (graphql-js, for one, runs a
// cross-realm check on every type test while it coerces input, a third of the cost of a large
// logBatch). Set before any of them loads; an explicit NODE_ENV is kept.
process.env.NODE_ENV ??= 'production';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DIST = new URL('../dist/main.js', import.meta.url);

/** Why the compiled server cannot be used (missing, stale, refused), or null when it can. */
function distRefusal() {
  if (process.env.CAIRN_FROM_SOURCE === '1') return null;
  let built;
  let meta;
  try {
    built = statSync(DIST).mtimeMs;
    meta = JSON.parse(readFileSync(new URL('../dist/meta.json', import.meta.url), 'utf8'));
  } catch {
    return 'no compiled server (apps/cli/dist; `npm run build:server` builds it)';
  }
  for (const file of meta.inputs) {
    let changed;
    try {
      changed = statSync(ROOT + file).mtimeMs > built;
    } catch {
      changed = true;
    }
    if (changed) return `${file} changed since apps/cli/dist was built (\`npm run build:server\`)`;
  }
  return undefined;
}

const refusal = distRefusal();
if (refusal === undefined) {
  const { main } = await import(DIST.href);
  await main(process.argv.slice(2));
} else {
  if (refusal) console.error(`cairn: running from the TypeScript sources (tsx): ${refusal}`);
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import('../src/main.ts');
  await main(process.argv.slice(2));
}
