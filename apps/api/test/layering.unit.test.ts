/**
 * Layering (issue 19, CONTRIBUTING.md "Layers"): the API and the projector do not depend on each
 * other (only the CLI composes them), and no package depends on an app — neither in its
 * package.json dependencies nor in an import of its sources. Read from the files as they are, so
 * a new import anywhere fails here.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

function manifest(dir: string): Manifest {
  return JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as Manifest;
}

function workspaceDirs(parent: string): string[] {
  const base = path.join(ROOT, parent);
  return readdirSync(base)
    .map((name) => path.join(base, name))
    .filter((dir) => {
      try {
        return statSync(path.join(dir, 'package.json')).isFile();
      } catch {
        return false;
      }
    });
}

function sourceFiles(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.flatMap((name) => {
    if (name === 'node_modules' || name === 'dist' || name === '.next' || name === 'out') return [];
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) return sourceFiles(file);
    return /\.(ts|tsx|js|mjs|cjs)$/.test(name) ? [file] : [];
  });
}

/** Module specifiers of import / export-from / dynamic import / require statements. */
function importedModules(text: string): string[] {
  const found: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\s[^;]*?\sfrom\s*['"]([^'"]+)['"]/gms,
    /^\s*import\s*['"]([^'"]+)['"]/gm,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const pattern of patterns) for (const m of text.matchAll(pattern)) found.push(m[1]!);
  return found;
}

/** The imports of `files` that name a package of `forbidden` or reach into one of `dirs`. */
function offending(files: string[], forbidden: string[], dirs: string[]): string[] {
  const hits: string[] = [];
  for (const file of files) {
    for (const spec of importedModules(readFileSync(file, 'utf8'))) {
      const pkg = forbidden.find((name) => spec === name || spec.startsWith(`${name}/`));
      const target = spec.startsWith('.') ? path.resolve(path.dirname(file), spec) : null;
      const dir = target ? dirs.find((d) => target === d || target.startsWith(`${d}/`)) : null;
      if (pkg || dir) hits.push(`${path.relative(ROOT, file)} imports ${spec}`);
    }
  }
  return hits;
}

function runtimeDependencies(m: Manifest): string[] {
  return Object.keys({ ...m.dependencies, ...m.peerDependencies, ...m.optionalDependencies });
}

const apps = workspaceDirs('apps').map((dir) => ({ dir, name: manifest(dir).name }));
const packages = workspaceDirs('packages').map((dir) => ({ dir, name: manifest(dir).name }));
const appNames = apps.map((a) => a.name);
const appDir = (name: string) => apps.find((a) => a.name === name)!.dir;

describe('layering', () => {
  it('finds the workspaces it checks', () => {
    expect(appNames).toEqual(expect.arrayContaining(['@cairn/api', '@cairn/projector']));
    expect(packages.length).toBeGreaterThanOrEqual(8);
  });

  it('recognises every import form (so the checks below can fail)', () => {
    const text = [
      "import type { Logger } from '@cairn/projector';",
      "import {\n  a,\n  b,\n} from '@cairn/projector/x';",
      "export * from '../../projector/src/index.ts';",
      "import '@cairn/api';",
      "const m = await import('@cairn/cli');",
      "const r = require('@cairn/web');",
    ].join('\n');
    expect(importedModules(text)).toEqual(
      expect.arrayContaining([
        '@cairn/projector',
        '@cairn/projector/x',
        '../../projector/src/index.ts',
        '@cairn/api',
        '@cairn/cli',
        '@cairn/web',
      ]),
    );
  });

  it('apps/api does not import the projector, apps/projector does not import the API', () => {
    const api = appDir('@cairn/api');
    const projector = appDir('@cairn/projector');
    expect(
      offending(sourceFiles(path.join(api, 'src')), ['@cairn/projector'], [projector]),
    ).toEqual([]);
    expect(
      offending(sourceFiles(path.join(projector, 'src')), ['@cairn/api', '@cairn/cli'], [api]),
    ).toEqual([]);
    expect(runtimeDependencies(manifest(api))).not.toContain('@cairn/projector');
    expect(runtimeDependencies(manifest(projector))).not.toContain('@cairn/api');
  });

  it('no package depends on an app (package.json) or imports one (sources and tests)', () => {
    for (const p of packages) {
      expect(
        runtimeDependencies(manifest(p.dir)).filter((d) => appNames.includes(d)),
        p.name,
      ).toEqual([]);
      const files = [
        ...sourceFiles(path.join(p.dir, 'src')),
        ...sourceFiles(path.join(p.dir, 'test')),
      ];
      expect(
        offending(
          files,
          appNames,
          apps.map((a) => a.dir),
        ),
        p.name,
      ).toEqual([]);
    }
  });
});
