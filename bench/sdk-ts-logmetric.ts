/**
 * The TypeScript SDK's logMetric (issue 18): 100,000 `CairnClient.logMetric` calls must return
 * to the caller in under 1 s in total, and every point must be queryable after `flush()`.
 *
 *   npx tsx bench/sdk-ts-logmetric.ts [--points 100000] [--keys 1,10] [--reps 3] [--out FILE] [--keep]
 *
 * Starts a real `cairn server` (local mode, embedded PostgreSQL in a scratch home), then per
 * repetition and key count: a fresh run, `points` logMetric calls in one synchronous loop (the
 * caller's time: the loop alone), then `flush()` (until the server acknowledged every point and
 * the read model has them), and the event loop's longest stall while the batches went out
 * (monitorEventLoopDelay). Afterwards each key's history is read back with getMetricHistory and
 * must hold every step with the logged values. Writes bench/results/sdk-ts-logmetric.md.
 * A measurement, not a timed test: the 1 s figure is reported, never asserted.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { CairnClient } from '../sdks/typescript/src/index.ts';
import { Cairn, REPO } from './lib/cairn.ts';

const { values: args } = parseArgs({
  options: {
    points: { type: 'string', default: '100000' },
    keys: { type: 'string', default: '1,10' },
    reps: { type: 'string', default: '3' },
    out: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const points = Number(args.points);
const keyCounts = (args.keys ?? '1').split(',').map(Number);
const reps = Number(args.reps);
const out = args.out ?? path.join(REPO, 'bench/results/sdk-ts-logmetric.md');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

interface Row {
  keys: number;
  rep: number;
  callsMs: number;
  flushMs: number;
  maxStallMs: number;
  idleStallMs: number;
  requests: number;
  verified: number;
}

const work = await mkdtemp(path.join(os.tmpdir(), 'cairn-bench-sdk-ts-'));
const cairn = new Cairn({
  port: await freePort(),
  home: path.join(work, 'home'),
  logFile: path.join(work, 'cairn.log'),
});
const rows: Row[] = [];
const load = [os.loadavg()[0]];
try {
  await cairn.start();
  const client = new CairnClient({ trackingUri: cairn.base.origin });
  const exp = await client.createExperiment(`sdk-ts-bench-${Date.now()}`);
  for (let rep = 1; rep <= reps; rep++) {
    for (const keys of keyCounts) {
      const run = await client.createRun({ experimentId: exp.id, name: `k${keys}-r${rep}` });
      const names = Array.from({ length: keys }, (_, k) => `m${k}`);
      const perKey = Math.ceil(points / keys);
      // the same monitor over 1 s of idling: the machine's own scheduling noise
      const idle = monitorEventLoopDelay({ resolution: 5 });
      idle.enable();
      await new Promise((resolve) => setTimeout(resolve, 1000));
      idle.disable();
      const t0 = Date.now();
      const stall = monitorEventLoopDelay({ resolution: 5 });
      const before = client.batchStats().requests;
      const start = performance.now();
      for (let i = 0; i < points; i++) {
        const step = Math.floor(i / keys);
        client.logMetric(run.id, names[i % keys]!, step * 0.5, { step, timestamp: t0 + step });
      }
      const callsMs = performance.now() - start;
      stall.enable();
      await client.flush();
      const flushMs = performance.now() - start - callsMs;
      stall.disable();
      let verified = 0;
      for (const key of names) {
        const history = await client.getMetricHistory(run.id, key);
        const expected = key === names[0] ? perKey : Math.floor(points / keys);
        if (history.length !== expected)
          throw new Error(`${key}: ${history.length} points read back, ${expected} logged`);
        for (const [step, p] of history.entries())
          if (p.step !== step || p.value !== step * 0.5 || p.timestamp !== t0 + step)
            throw new Error(`${key}: step ${step} read back as ${JSON.stringify(p)}`);
        verified += history.length;
      }
      if (verified !== points) throw new Error(`${verified} of ${points} points read back`);
      const row: Row = {
        keys,
        rep,
        callsMs,
        flushMs,
        maxStallMs: stall.max / 1e6,
        idleStallMs: idle.max / 1e6,
        requests: client.batchStats().requests - before,
        verified,
      };
      rows.push(row);
      console.log(
        `keys ${keys} rep ${rep}: ${points} logMetric calls ${callsMs.toFixed(1)} ms, flush ${flushMs.toFixed(0)} ms, ` +
          `longest event-loop stall ${row.maxStallMs.toFixed(1)} ms (idle ${row.idleStallMs.toFixed(1)} ms), ${row.requests} logBatch requests, ${verified} points verified`,
      );
    }
  }
  await client.close();
  load.push(os.loadavg()[0]);
} finally {
  await cairn.stop();
  if (!args.keep) await rm(work, { recursive: true, force: true });
  else console.log(`kept ${work}`);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] ?? Number.NaN;
};
const lines = [
  '# TypeScript SDK: 100k `logMetric` calls (issue 18)',
  '',
  `Measured ${new Date().toISOString()} with \`npx tsx bench/sdk-ts-logmetric.ts --points ${points} --keys ${keyCounts.join(',')} --reps ${reps}\`:`,
  `a real \`cairn server\` (local mode, embedded PostgreSQL), one Node ${process.version} client process, ${os.cpus().length} cores`,
  `shared with other work (load average ${load.map((l) => l?.toFixed(2)).join(' → ')}).`,
  '',
  '"calls" is the time of the synchronous loop of `logMetric` calls alone (what the caller waits);',
  '"flush" the time from the end of that loop until `flush()` resolved (every point acknowledged',
  'and in the read model); "stall" the longest event-loop delay during the flush (the batches',
  'are built and sent in the background, serialised in slices of 5,000 points); "idle stall" the',
  "same monitor over 1 s of idling just before (the shared machine's scheduling noise). Every",
  'point was then read back with',
  '`getMetricHistory` and compared (step, value, timestamp).',
  '',
  '| keys | rep | points | calls (ms) | flush (ms) | longest stall (ms) | idle stall (ms) | logBatch requests | verified |',
  '| ---: | --: | -----: | ---------: | ---------: | -----------------: | --------------: | ----------------: | -------: |',
  ...rows.map(
    (r) =>
      `| ${r.keys} | ${r.rep} | ${points} | ${r.callsMs.toFixed(1)} | ${r.flushMs.toFixed(0)} | ${r.maxStallMs.toFixed(1)} | ${r.idleStallMs.toFixed(1)} | ${r.requests} | ${r.verified} |`,
  ),
  '',
  ...keyCounts.map((k) => {
    const mine = rows.filter((r) => r.keys === k);
    return `- ${k} key(s): median calls ${median(mine.map((r) => r.callsMs)).toFixed(1)} ms (target < 1000 ms), median flush ${median(mine.map((r) => r.flushMs)).toFixed(0)} ms.`;
  }),
  '',
];
await writeFile(out, lines.join('\n'));
console.log(`wrote ${out}`);
