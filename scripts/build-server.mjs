// Compiles the `cairn` server into apps/cli/dist (issue 19: production runs compiled JavaScript,
// not the tsx loader). One esbuild bundle of apps/cli/src/main.ts with the workspace packages
// (@cairn/*, TypeScript sources) inlined and every other dependency left to node_modules, plus
// the projector worker thread's entry next to it. Writes dist/meta.json (the bundle's inputs),
// which bin/cairn.js uses to fall back to the sources when one of them changed since.
// Run by `npm ci` (the root `prepare` script) and by `npm start` when the bundle is missing.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = path.join(root, 'apps/cli/dist');
const started = Date.now();

/** The package name of a bare specifier (`@scope/name/sub` -> `@scope/name`). */
function packageName(spec) {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/**
 * Bundle our workspace packages; leave third-party packages (native ones among them) to the
 * root node_modules. A package the importer would find in a nested node_modules (apps/api pins
 * its own graphql-yoga) is bundled, since apps/cli/dist could not resolve that copy.
 */
const externals = {
  name: 'externals',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('@cairn/') || args.path.startsWith('node:')) return undefined;
      const name = packageName(args.path);
      for (let dir = args.resolveDir; dir.startsWith(root) || `${dir}/` === root;) {
        if (existsSync(path.join(dir, 'node_modules', name))) {
          return path.resolve(dir) === path.resolve(root)
            ? { path: args.path, external: true }
            : undefined;
        }
        const up = path.dirname(dir);
        if (up === dir) break;
        dir = up;
      }
      return { path: args.path, external: true };
    });
  },
};

mkdirSync(outdir, { recursive: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: {
    main: 'apps/cli/src/main.ts',
    'projector-worker': 'apps/projector/src/projector-worker.ts',
  },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  metafile: true,
  logLevel: 'warning',
  plugins: [externals],
  banner: {
    // Bundled CommonJS helpers (none expected) would need require; ESM bundles get one here.
    js: "import { createRequire as __cairnRequire } from 'node:module'; const require = __cairnRequire(import.meta.url);",
  },
});
const inputs = Object.keys(result.metafile.inputs).filter((f) => !f.includes('node_modules'));
writeFileSync(
  path.join(outdir, 'meta.json'),
  `${JSON.stringify({ builtAt: new Date().toISOString(), inputs }, null, 1)}\n`,
);
console.log(
  `cairn: server compiled into apps/cli/dist (${inputs.length} sources, ${Date.now() - started} ms)`,
);
