#!/usr/bin/env node
/**
 * Bundles the browser entry (src/browser.ts) into one ES module, dist/cairn-sdk.browser.js, for a
 * plain `<script type="module">` (docs/typescript-sdk.md, "Browsers"). Fails when anything Node-only
 * is reachable from the entry: a `node:` import (kept external so it can be named) or a bare Node
 * built-in.
 *
 * Usage: node scripts/bundle-browser.mjs [outfile]
 */
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_OUTFILE = path.join(root, 'dist/cairn-sdk.browser.js');

/** Node-only imports of a build's metafile: `[{ importer, path }]`. */
export function nodeImports(metafile) {
  const builtins = new Set(builtinModules);
  const found = [];
  for (const [importer, input] of Object.entries(metafile.inputs))
    for (const imp of input.imports)
      if (imp.path.startsWith('node:') || builtins.has(imp.path.split('/')[0]))
        found.push({ importer, path: imp.path });
  return found;
}

/** Builds the bundle; resolves with esbuild's metafile. */
export async function bundleBrowser({ outfile = DEFAULT_OUTFILE, minify = true } = {}) {
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: ['src/browser.ts'],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    minify,
    sourcemap: 'linked',
    metafile: true,
    // Kept out of the bundle so that nodeImports can name them (the build below then fails).
    external: ['node:*'],
    logLevel: 'silent',
    legalComments: 'none',
  });
  return result.metafile;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outfile = process.argv[2] ? path.resolve(process.argv[2]) : DEFAULT_OUTFILE;
  const metafile = await bundleBrowser({ outfile });
  const bad = nodeImports(metafile);
  if (bad.length > 0) {
    for (const b of bad) console.error(`${b.importer} imports ${b.path}`);
    console.error('The browser bundle must not import Node modules');
    process.exit(1);
  }
  const bytes = Object.values(metafile.outputs).find((o) => o.entryPoint)?.bytes ?? 0;
  console.log(`${path.relative(process.cwd(), outfile)}: ${(bytes / 1024).toFixed(1)} KiB`);
}
