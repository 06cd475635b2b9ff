/**
 * B9d: what serving a deployment costs over serving one URI. The B9 model (bench/b9_model.py),
 * registered twice in a real `cairn server`, behind three scoring servers measured in the same
 * run, interleaved:
 *
 *   plain       python -m cairn.models serve -m models:/b9d@champion
 *   deployment  python -m cairn.models serve --deployment b9d-one      (1 variant, 100 %)
 *   a/b+traces  python -m cairn.models serve --deployment b9d-ab --log-traces
 *               (90 % models:/b9d@champion, 10 % models:/b9d/2; one trace per request)
 *
 *   npx tsx bench/b9-deployment.ts [--quick] [--reps N] [--workers N] [--clients 16] [--out FILE]
 *
 * Besides req/s, latency and server CPU per request (all the server's processes, reporter and
 * watchers included), it checks that the deployments' metrics (GraphQL `deployment.metrics`,
 * after each server's drain) count exactly the requests answered, and that the a/b split is
 * within 1 % of 90/10. Writes bench/results/b9-deployment.md (quick: b9-deployment-quick.md).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Cairn, REPO } from './lib/cairn.ts';
import { startLoggedServer } from './lib/http.ts';
import {
  body,
  freePort,
  logger,
  measureInvocations,
  run,
  SDK_PYTHON,
  stopProcess,
  type LoadShape,
  type Measured,
} from './lib/serving.ts';
import { fmtMs, median, summarize } from './lib/stats.ts';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    reps: { type: 'string' },
    workers: { type: 'string' },
    clients: { type: 'string' },
    out: { type: 'string' },
  },
});
const quick = args.quick ?? false;
const reps = Number(args.reps ?? (quick ? 1 : 3));
const workers = Number(args.workers ?? 1);
const clients = Number(args.clients ?? 16);
const shape: LoadShape = {
  clients,
  warmupMs: quick ? 1000 : 2000,
  durationMs: quick ? 3000 : 8000,
};
const outFile =
  args.out ??
  path.join(REPO, 'bench/results', quick ? 'b9-deployment-quick.md' : 'b9-deployment.md');

const MODEL = 'b9d';

type Kind = 'plain' | 'deployment' | 'a/b+traces';
const KINDS: Kind[] = ['plain', 'deployment', 'a/b+traces'];

interface Server {
  kind: Kind;
  base: URL;
  child: ChildProcess;
  /** 200 answers, by x-cairn-variant header ('' without one) */
  answered: Map<string, number>;
}

const log = logger('b9d');

async function startServer(kind: Kind, cairn: Cairn, work: string): Promise<Server> {
  const port = await freePort();
  const base = new URL(`http://127.0.0.1:${port}`);
  const what =
    kind === 'plain'
      ? ['-m', `models:/${MODEL}@champion`]
      : kind === 'deployment'
        ? ['--deployment', 'b9d-one']
        : ['--deployment', 'b9d-ab', '--log-traces'];
  const child = spawn(
    SDK_PYTHON,
    ['-m', 'cairn.models', 'serve', ...what, '--port', String(port), '--workers', String(workers)],
    {
      env: { ...process.env, OMP_NUM_THREADS: '1', CAIRN_TRACKING_URI: cairn.base.origin },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  await startLoggedServer({
    name: kind,
    child,
    logFile: path.join(work, `serve-${kind.replace('/', '-').replace('+', '-')}.log`),
    base,
    healthPath: '/ping',
    timeoutMs: 120_000,
    intervalMs: 200,
  });
  return { kind, base, child, answered: new Map() };
}

function measure(s: Server, payloads: string[]): Promise<Measured> {
  return measureInvocations(s.base, s.child.pid!, payloads, shape, (res) => {
    const variant = String(res.headers?.['x-cairn-variant'] ?? '');
    s.answered.set(variant, (s.answered.get(variant) ?? 0) + 1);
  });
}

const METRICS = `query M($name: String!) { deployment(name: $name) { metrics { variant requests errors } } }`;

async function reported(cairn: Cairn, name: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const data = await cairn.gql<{
    deployment: { metrics: { variant: string; requests: number }[] } | null;
  }>(METRICS, { name });
  for (const m of data.deployment?.metrics ?? [])
    out.set(m.variant, (out.get(m.variant) ?? 0) + m.requests);
  return out;
}

async function main(): Promise<void> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'cairn-b9d-'));
  log(`work dir ${work}; ${workers} worker(s); ${clients} clients; ${reps} rep(s)`);
  await run(SDK_PYTHON, [path.join(REPO, 'bench/b9_model.py'), 'cairn', work]);
  const cairn = new Cairn({
    port: await freePort(),
    home: path.join(work, 'home'),
    logFile: path.join(work, 'cairn.log'),
  });
  await cairn.start();
  const rows: { kind: Kind; rps: number[]; lat: number[]; cpu: number[]; errors: number }[] =
    KINDS.map((kind) => ({ kind, rps: [], lat: [], cpu: [], errors: 0 }));
  const checks: string[] = [];
  try {
    // Two versions of the same fitted estimator; the alias on 1.
    await run(
      SDK_PYTHON,
      [
        '-c',
        [
          'import os, pickle, sys, cairn, cairn.sklearn',
          'model, x = pickle.load(open(os.path.join(sys.argv[1], "estimator.pkl"), "rb"))',
          'cairn.set_experiment("b9d")',
          'for _ in range(2):',
          '    with cairn.start_run():',
          `        cairn.sklearn.log_model(model, "model", registered_model_name="${MODEL}", input_example=x)`,
          `cairn.CairnClient().set_registered_model_alias("${MODEL}", "champion", 1)`,
        ].join('\n'),
        work,
      ],
      { env: { ...process.env, CAIRN_TRACKING_URI: cairn.base.origin } },
    );
    const create = `mutation C($input: CreateDeploymentInput!) { createDeployment(input: $input) { name } }`;
    for (const [name, variants] of [
      ['b9d-one', [{ name: 'primary', modelUri: `models:/${MODEL}@champion`, weight: 100 }]],
      [
        'b9d-ab',
        [
          { name: 'primary', modelUri: `models:/${MODEL}@champion`, weight: 90 },
          { name: 'candidate', modelUri: `models:/${MODEL}/2`, weight: 10 },
        ],
      ],
    ] as const)
      await cairn.gql(create, {
        input: {
          name,
          target: 'local',
          modelUri: variants[0].modelUri,
          config: { start: false },
          variants,
        },
      });
    const servers: Server[] = [];
    for (const kind of KINDS) servers.push(await startServer(kind, cairn, work));
    try {
      const payloads = Array.from({ length: 32 }, (_, i) => body(1, 100 + i));
      for (let rep = 0; rep < reps; rep++) {
        const order = rep % 2 === 0 ? servers : [...servers].reverse();
        for (const s of order) {
          const r = await measure(s, payloads);
          const row = rows.find((x) => x.kind === s.kind)!;
          row.rps.push(r.rps);
          row.lat.push(...r.lat);
          row.cpu.push(r.cpuMs);
          row.errors += r.errors;
          log(
            `rep ${rep + 1} ${s.kind}: ${r.rps.toFixed(0)} req/s, p99 ${fmtMs(summarize(r.lat).p99)}, server CPU ${r.cpuMs.toFixed(2)} ms/request`,
          );
        }
      }
    } finally {
      for (const s of servers) await stopProcess(s.child, false, 30_000); // drains its metrics
    }
    // after the drains: the reports count every request answered
    for (const s of servers.filter((x) => x.kind !== 'plain')) {
      const name = s.kind === 'deployment' ? 'b9d-one' : 'b9d-ab';
      let got = new Map<string, number>();
      const sent = [...s.answered.values()].reduce((a, b) => a + b, 0);
      for (let i = 0; i < 50; i++) {
        got = await reported(cairn, name);
        if ([...got.values()].reduce((a, b) => a + b, 0) >= sent) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      const total = [...got.values()].reduce((a, b) => a + b, 0);
      const detail = [...s.answered]
        .map(([v, n]) => `${v} ${n} answered / ${got.get(v) ?? 0} reported`)
        .join(', ');
      checks.push(
        `- ${name}: ${sent} requests answered, ${total} reported (${detail})${total === sent ? '' : ' **MISMATCH**'}`,
      );
      if (name === 'b9d-ab') {
        const share = (s.answered.get('candidate') ?? 0) / Math.max(1, sent);
        checks.push(
          `- b9d-ab candidate share: ${(share * 100).toFixed(2)} % (weight 10 %)${Math.abs(share - 0.1) <= 0.01 ? '' : ' **OFF**'}`,
        );
      }
    }
  } finally {
    await cairn.stop();
    await rm(work, { recursive: true, force: true });
  }

  const base = median(rows[0]!.rps);
  const baseCpu = median(rows[0]!.cpu);
  const lines = [
    `# B9d: serving a deployment (\`npx tsx bench/b9-deployment.ts${quick ? ' --quick' : ''}\`)`,
    '',
    `${new Date().toISOString().slice(0, 10)}; ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}); load average at the end ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}.`,
    `Model: B9's (scikit-learn LogisticRegression, 8 float columns), registered twice. ${workers} worker(s); ${clients} closed-loop clients, 1-row \`dataframe_split\` bodies, ${shape.warmupMs / 1000} s warm-up + ${shape.durationMs / 1000} s window, ${reps} rep(s) interleaved; req/s = median over reps; server CPU/request = all the server's processes (workers, master, watchers, reporter) over warm-up and window.`,
    '',
    '| server | req/s | vs plain | p50 / p99 | server CPU/request | vs plain | errors |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of rows) {
    const rps = median(r.rps);
    const l = summarize(r.lat);
    const cpu = median(r.cpu);
    lines.push(
      `| ${r.kind} | ${rps.toFixed(0)} | ${((rps / base - 1) * 100).toFixed(1)} % | ${fmtMs(l.p50)} / ${fmtMs(l.p99)} | ${fmtMs(cpu)} | ${((cpu / baseCpu - 1) * 100).toFixed(1)} % | ${r.errors} |`,
    );
  }
  lines.push(
    '',
    'Checks (metrics reported through `recordDeploymentMetrics`, read back after the drains):',
    '',
    ...checks,
    '',
  );
  await writeFile(outFile, lines.join('\n'));
  console.log(lines.join('\n'));
  log(`wrote ${outFile}`);
}

await main();
