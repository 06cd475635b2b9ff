// `npm start`: builds what is missing — the compiled server (apps/cli/dist, when absent or older
// than a source it was built from) and the dashboard's static export (apps/web/out) — then runs
// `cairn server` with the arguments given after `npm start --`.
import { spawnSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = path.join(root, 'apps/cli/dist/main.js');

function serverStale() {
  try {
    const built = statSync(dist).mtimeMs;
    const { inputs } = JSON.parse(readFileSync(path.join(root, 'apps/cli/dist/meta.json'), 'utf8'));
    return inputs.some(
      (f) => !existsSync(path.join(root, f)) || statSync(path.join(root, f)).mtimeMs > built,
    );
  } catch {
    return true;
  }
}

function run(what, command, args) {
  console.log(`cairn: ${what}…`);
  const r = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`cairn: ${what} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status ?? 1);
  }
}

if (serverStale()) run('compiling the server', process.execPath, ['scripts/build-server.mjs']);
else console.log('cairn: server already compiled (apps/cli/dist)');
if (!existsSync(path.join(root, 'apps/web/out/index.html')))
  run('building the dashboard (apps/web/out, about a minute)', 'npm', [
    'run',
    'build',
    '-w',
    '@cairn/web',
  ]);
else console.log('cairn: dashboard already built (apps/web/out)');

const child = spawn(
  process.execPath,
  [
    '--max-semi-space-size=64',
    path.join(root, 'apps/cli/bin/cairn.js'),
    'server',
    ...process.argv.slice(2),
  ],
  { stdio: 'inherit' },
);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
