// Start-up time of `cairn server` on an existing home: spawn, poll GET /readyz until 200, stop
// (SIGTERM, wait for exit). `node bench/startup.mjs [runs]`: compiled (apps/cli/dist) and from
// the sources (CAIRN_FROM_SOURCE=1, tsx), alternating; the first start (initdb) is not counted.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../apps/cli/bin/cairn.js', import.meta.url));
const runs = Number(process.argv[2] ?? 5);
const home = mkdtempSync(path.join(tmpdir(), 'cairn-startup-'));
const port = 4900 + Math.floor(Math.random() * 500);

async function start(fromSource) {
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    ['--max-semi-space-size=64', BIN, 'server', '--home', home, '--port', String(port)],
    {
      env: { ...process.env, CAIRN_FROM_SOURCE: fromSource ? '1' : '0' },
      stdio: 'ignore',
    },
  );
  const exited = new Promise((resolve) => child.once('exit', resolve));
  for (;;) {
    const ok = await globalThis.fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    if (performance.now() - t0 > 120_000) throw new Error('no /readyz 200 within 120 s');
    await sleep(20);
  }
  const ms = performance.now() - t0;
  child.kill('SIGTERM');
  await exited;
  return ms;
}

try {
  await start(false); // creates the home (initdb, migrations)
  const times = { compiled: [], source: [] };
  for (let i = 0; i < runs; i++) {
    times.compiled.push(await start(false));
    times.source.push(await start(true));
  }
  for (const [mode, list] of Object.entries(times)) {
    const sorted = [...list].sort((a, b) => a - b);
    console.log(
      `${mode}: median ${sorted[Math.floor(sorted.length / 2)].toFixed(0)} ms; runs ${list.map((t) => t.toFixed(0)).join(', ')} ms`,
    );
  }
} finally {
  rmSync(home, { recursive: true, force: true });
}
