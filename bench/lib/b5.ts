/**
 * B5 span ingest (../shared/BENCHMARKS.md): the same OTLP/HTTP protobuf bodies
 * (`ExportTraceServiceRequest`, one trace per request) posted to Cairn's `POST /v1/traces` and to
 * MLflow's own OTLP endpoint `POST /v1/traces` (the one its Python client's exporter posts to),
 * then the trace search on a span attribute with many spans stored.
 */
import { sql } from './benchmarks.ts';
import type { Ctx } from './context.ts';
import { postBytes, request } from './http.ts';
import { mapConcurrent } from './load.ts';
import {
  ChunkedTraceTemplate,
  FILTER_KEY,
  FILTER_VALUES,
  filterValue,
  TraceTemplate,
  type TraceShape,
} from './otlp.ts';
import { fmtMs, fmtRate, median, summarize } from './stats.ts';

type System = 'cairn' | 'mlflow';

/** [spans per trace, KB of attributes per span]. */
export type B5Cell = [number, number];
export const B5_CELLS_FULL: B5Cell[] = [10, 100, 1000].flatMap((s) =>
  [1, 5, 10].map((kb) => [s, kb] as B5Cell),
);
export const B5_CELLS_QUICK: B5Cell[] = [
  [10, 1],
  [100, 5],
];

export interface B5Options {
  cells: B5Cell[];
  /** Closed-loop clients per cell. */
  clients: number;
  /** Spans stored for the read query (loaded as 100-span traces with 1 KB attributes). */
  readSpans: number;
  /** At most this many of MLflow's read-load spans go through its OTLP endpoint; the rest are
   * cloned in SQL from those (loading is not what B5 measures). */
  mlflowOtlpLoadCap: number;
  /** At most this many of Cairn's read-load spans go through `POST /v1/traces` and the traces
   * projection; the rest are cloned in SQL from those rows (see cloneCairnTraces). */
  cairnOtlpLoadCap: number;
}

/** ABBA interleaving (as in benchmarks.ts). */
function order(rep: number, cell: number): System[] {
  return (rep + cell) % 2 === 0 ? ['cairn', 'mlflow'] : ['mlflow', 'cairn'];
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const PROTOBUF = 'application/x-protobuf';

/** Acknowledged spans and traces per system (the end-of-run durability check). */
const acked = { cairn: { spans: 0, traces: 0 }, mlflow: { spans: 0, traces: 0 } };
/** Cairn read-model rows cloned in SQL for the read load (not acknowledged through OTLP). */
const clonedCairn = { spans: 0, traces: 0 };

async function post(ctx: Ctx, system: System, body: Buffer, experimentId: string): Promise<void> {
  const base = system === 'cairn' ? ctx.cairn.base : ctx.mlflow.base;
  const headers: Record<string, string> = { 'content-type': PROTOBUF };
  if (system === 'mlflow') headers['x-mlflow-experiment-id'] = experimentId;
  const res = await postBytes(base, '/v1/traces', body, headers);
  if (res.status !== 200)
    throw new Error(`${system} POST /v1/traces: HTTP ${res.status}: ${res.body.slice(0, 300)}`);
  // An empty ExportTraceServiceResponse means every span was accepted; anything else carries a
  // partial_success (rejected spans).
  if (res.body.length > 0 && system === 'cairn')
    throw new Error(`cairn POST /v1/traces: partial success: ${JSON.stringify(res.body)}`);
}

/** Whether this Cairn build runs the `traces` projection (listed by `/readyz`). */
let cairnProjectsTraces = false;

/** Whether this Cairn build serves `POST /v1/traces` (it is recent). */
async function cairnHasOtlp(ctx: Ctx): Promise<boolean> {
  const t = new TraceTemplate({ spans: 2, attrBytes: 64 });
  const res = await postBytes(ctx.cairn.base, '/v1/traces', t.next().body, {
    'content-type': PROTOBUF,
  });
  if (res.status === 200) {
    acked.cairn.spans += 2;
    acked.cairn.traces += 1;
    const r = await ctx.cairn.readiness();
    cairnProjectsTraces = r.projections.some((p) => p.projection === 'traces');
    if (!cairnProjectsTraces) {
      ctx.log('  B5: Cairn has no traces projection yet (/readyz): queryable not measured');
      ctx.notes.push(
        'B5: this Cairn build has no `traces` projection yet: spans are durable in the event log but not queryable; queryable rates and the read-model check are not measured.',
      );
    }
    return true;
  }
  ctx.log(`  B5: Cairn POST /v1/traces answers HTTP ${res.status}: ${res.body.slice(0, 200)}`);
  return false;
}

interface IngestSample {
  acked: number;
  queryable: number;
  latencies: number[];
  spans: number;
  errors: number;
}

/**
 * `clients` closed loops post fresh traces of the template's shape for `windowMs`; each client
 * finishes the request it has in flight. Throughput = spans acknowledged ÷ time from the start to
 * the last answer (a 1000-span, 10 KB trace can take MLflow longer than a whole window, so the
 * in-flight requests count in full); latencies of every request.
 */
async function ingestCell(
  ctx: Ctx,
  system: System,
  shape: TraceShape,
  clients: number,
  windowMs: number,
  experimentId: string,
): Promise<IngestSample> {
  const template = new TraceTemplate(shape, -1, Date.now());
  const latencies: number[] = [];
  let spans = 0;
  let errors = 0;
  let firstError = '';
  const started = performance.now();
  const end = started + windowMs;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < end && errors < 20) {
        const { body } = template.next();
        const t0 = performance.now();
        try {
          await post(ctx, system, body, experimentId);
          latencies.push(performance.now() - t0);
          spans += template.spans;
          acked[system].spans += template.spans;
          acked[system].traces += 1;
        } catch (error) {
          errors += 1;
          firstError ||= error instanceof Error ? error.message : String(error);
        }
      }
    }),
  );
  const done = performance.now();
  if (errors >= 20) throw new Error(`B5 ${system}: too many errors; first: ${firstError}`);
  const ackedRate = spans / ((done - started) / 1000);
  let queryable = ackedRate;
  if (system === 'cairn') {
    const t = await cairnQueryable(ctx);
    queryable = spans / ((t - started) / 1000);
  }
  if (errors > 0) ctx.log(`  B5 ${system}: ${errors} errors, first: ${firstError}`);
  return { acked: ackedRate, queryable, latencies, spans, errors };
}

/**
 * MLflow driven the way its Python client exports a finished trace (MlflowV3SpanExporter with
 * the default BatchSpanProcessor): the spans in OTLP requests of at most 5, then `start-trace`
 * (`POST /api/3.0/mlflow/traces`) with the trace info. Context for the same-bytes cells.
 */
async function mlflowClientShapeCell(
  ctx: Ctx,
  shape: TraceShape,
  clients: number,
  windowMs: number,
  experimentId: string,
): Promise<IngestSample> {
  const template = new ChunkedTraceTemplate(shape, 5, -1, Date.now());
  const latencies: number[] = [];
  let spans = 0;
  const started = performance.now();
  const end = started + windowMs;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < end) {
        const { bodies, traceId } = template.next();
        const t0 = performance.now();
        for (const body of bodies) await post(ctx, 'mlflow', body, experimentId);
        const res = await request(
          ctx.mlflow.base,
          'POST',
          '/api/3.0/mlflow/traces',
          JSON.stringify({
            trace: {
              trace_info: {
                trace_id: `tr-${traceId}`,
                trace_location: {
                  type: 'MLFLOW_EXPERIMENT',
                  mlflow_experiment: { experiment_id: experimentId },
                },
                request_time: new Date(template.startMs).toISOString(),
                execution_duration: `${template.durationMs / 1000}s`,
                state: 'OK',
                trace_metadata: { 'mlflow.trace_schema.version': '3' },
                tags: { 'mlflow.traceName': template.rootName },
              },
            },
          }),
        );
        if (res.status !== 200)
          throw new Error(`mlflow start-trace: HTTP ${res.status}: ${res.body.slice(0, 300)}`);
        latencies.push(performance.now() - t0);
        spans += template.spans;
        acked.mlflow.spans += template.spans;
        acked.mlflow.traces += 1;
      }
    }),
  );
  const rate = spans / ((performance.now() - started) / 1000);
  return { acked: rate, queryable: rate, latencies, spans, errors: 0 };
}

/**
 * When every acknowledged span is queryable: `/readyz` lag 0, and then (checked after the
 * timestamp, so not timed when already true) the read model's span count reaching the number
 * acknowledged; if it has not, the time it does.
 */
async function cairnQueryable(ctx: Ctx, timeoutMs = 600_000): Promise<number> {
  let t = await ctx.cairn.waitQueryable(timeoutMs);
  if (!cairnProjectsTraces) return NaN;
  const url = await ctx.cairn.localDatabaseUrl();
  const count = async () =>
    Number(((await sql(url, 'SELECT count(*)::int8 AS n FROM trace_spans'))[0] as { n: string }).n);
  const deadline = Date.now() + timeoutMs;
  while ((await count()) < acked.cairn.spans) {
    if (Date.now() > deadline) throw new Error('B5: Cairn read model never caught up');
    await sleep(50);
    t = performance.now();
  }
  return t;
}

const kb = (n: number) => `${n} KB`;

export async function b5(ctx: Ctx, opts: B5Options): Promise<void> {
  const { settings, mlflow } = ctx;
  const hasCairn = await cairnHasOtlp(ctx);
  if (!hasCairn) {
    ctx.notes.push(
      'B5: this Cairn build does not serve `POST /v1/traces` yet: only MLflow was measured.',
    );
  }
  const systems = (rep: number, cell: number) =>
    order(rep, cell).filter((s) => hasCairn || s === 'mlflow');
  const experimentId = await mlflow.createExperiment(`b5-${Date.now()}`);
  const windowMs = settings.windowS * 1000;

  // Warm-up of both ingest paths (first requests compile and plan lazily), untimed. MLflow's
  // uvicorn workers each set up their tracking store on their first request (seconds, with the
  // CPU saturated), and a keep-alive connection stays with one worker: 16 connections reach all
  // 4 workers with high probability, and the warm-up repeats until no request is slow.
  ctx.log('B5: warm-up');
  for (const system of systems(0, 0)) {
    for (let round = 0; round < 3; round++) {
      const w = await ingestCell(
        ctx,
        system,
        { spans: 10, attrBytes: 1024 },
        16,
        3000,
        experimentId,
      );
      const max = summarize(w.latencies).max;
      if (max < 2000) break;
      ctx.log(`  B5 warm-up ${system}: slowest request ${fmtMs(max)}, once more`);
    }
  }

  const samples = new Map<string, { cairn: IngestSample[]; mlflow: IngestSample[] }>();
  for (let rep = 0; rep < settings.reps; rep++) {
    for (const [ci, [spans, attrKb]] of opts.cells.entries()) {
      const key = `${spans}|${attrKb}`;
      if (!samples.has(key)) samples.set(key, { cairn: [], mlflow: [] });
      for (const system of systems(rep, ci)) {
        const s = await ingestCell(
          ctx,
          system,
          { spans, attrBytes: attrKb * 1024 },
          opts.clients,
          windowMs,
          experimentId,
        );
        samples.get(key)![system].push(s);
        const l = summarize(s.latencies);
        ctx.log(
          `  B5 ${system} ${spans} spans × ${kb(attrKb)}: ${fmtRate(s.acked, 'spans/s')} acked${system === 'cairn' ? `, ${fmtRate(s.queryable, 'spans/s')} queryable` : ''}, ${s.latencies.length} requests, p50 ${fmtMs(l.p50)}, p99 ${fmtMs(l.p99)}`,
        );
        await sleep(500);
      }
    }
  }

  for (const [key, s] of samples) {
    const [spans, attrKb] = key.split('|').map(Number) as [number, number];
    const mA = median(s.mlflow.map((x) => x.acked));
    const mL = summarize(s.mlflow.flatMap((x) => x.latencies));
    const workload = `${spans} spans/trace × ${kb(attrKb)} attributes, ${opts.clients} clients`;
    const target = attrKb === 5 ? '≥ 10×; ≥ 5k spans/s' : '≥ 10×';
    if (!hasCairn) {
      ctx.rows.push({
        bench: 'B5 span ingest (durable)',
        workload,
        cairn: 'n/a (no /v1/traces)',
        mlflow: `${fmtRate(mA, 'spans/s')} (p50 ${fmtMs(mL.p50)}, p99 ${fmtMs(mL.p99)})`,
        ratio: NaN,
        target,
        verdict: '',
      });
    } else {
      const cA = median(s.cairn.map((x) => x.acked));
      const cQ = median(s.cairn.map((x) => x.queryable));
      const cL = summarize(s.cairn.flatMap((x) => x.latencies));
      const ok = cA / mA >= 10 && (attrKb !== 5 || cA >= 5000);
      ctx.rows.push({
        bench: 'B5 span ingest (durable)',
        workload,
        cairn: `${fmtRate(cA, 'spans/s')} (p50 ${fmtMs(cL.p50)}, p99 ${fmtMs(cL.p99)})`,
        mlflow: `${fmtRate(mA, 'spans/s')} (p50 ${fmtMs(mL.p50)}, p99 ${fmtMs(mL.p99)})`,
        ratio: cA / mA,
        target,
        verdict: ok ? 'met' : 'missed',
      });
      ctx.rows.push({
        bench: 'B5 span ingest (queryable)',
        workload,
        cairn: fmtRate(cQ, 'spans/s'),
        mlflow: `${fmtRate(mA, 'spans/s')} (sync)`,
        ratio: cQ / mA,
        target: '',
        verdict: '',
      });
      ctx.details.push(
        {
          bench: 'B5',
          workload,
          system: 'cairn',
          metric: 'acked spans/s',
          reps: s.cairn.length,
          median: fmtRate(cA, 'spans/s'),
          latency: cL,
        },
        {
          bench: 'B5',
          workload,
          system: 'cairn',
          metric: 'queryable spans/s',
          reps: s.cairn.length,
          median: fmtRate(cQ, 'spans/s'),
        },
      );
    }
    ctx.details.push({
      bench: 'B5',
      workload,
      system: 'mlflow',
      metric: 'acked spans/s',
      reps: s.mlflow.length,
      median: fmtRate(mA, 'spans/s'),
      latency: mL,
    });
  }

  // Context: MLflow fed the way its own Python client sends the same traces.
  const shapeCell: B5Cell = opts.cells.some(([sp, k]) => sp === 100 && k === 5)
    ? [100, 5]
    : opts.cells[0]!;
  const clientShape: IngestSample[] = [];
  for (let rep = 0; rep < settings.reps; rep++) {
    const s = await mlflowClientShapeCell(
      ctx,
      { spans: shapeCell[0], attrBytes: shapeCell[1] * 1024 },
      opts.clients,
      windowMs,
      experimentId,
    );
    clientShape.push(s);
    ctx.log(
      `  B5 mlflow client shape ${shapeCell[0]} spans × ${kb(shapeCell[1])}: ${fmtRate(s.acked, 'spans/s')}, ${s.latencies.length} traces, p50 ${fmtMs(summarize(s.latencies).p50)} per trace`,
    );
  }
  {
    const same = samples.get(`${shapeCell[0]}|${shapeCell[1]}`)!;
    const cA = median(same.cairn.map((x) => x.acked));
    const mA = median(clientShape.map((x) => x.acked));
    const mL = summarize(clientShape.flatMap((x) => x.latencies));
    ctx.rows.push({
      bench: 'B5 span ingest (MLflow client shape)',
      workload: `${shapeCell[0]} spans/trace × ${kb(shapeCell[1])}, ${opts.clients} clients; MLflow: 5-span OTLP requests + start-trace per trace, as its Python client exports`,
      cairn: hasCairn ? `${fmtRate(cA, 'spans/s')} (whole traces)` : 'n/a',
      mlflow: `${fmtRate(mA, 'spans/s')} (p50 ${fmtMs(mL.p50)} per trace)`,
      ratio: hasCairn ? cA / mA : NaN,
      target: '',
      verdict: '',
    });
    ctx.details.push({
      bench: 'B5',
      workload: `${shapeCell[0]} spans × ${kb(shapeCell[1])}, MLflow client shape (latency per trace)`,
      system: 'mlflow',
      metric: 'acked spans/s',
      reps: clientShape.length,
      median: fmtRate(mA, 'spans/s'),
      latency: mL,
    });
  }

  await b5Read(ctx, opts, hasCairn, experimentId);
  await durabilityCheck(ctx, hasCairn, experimentId);
}

// ---------------------------------------------------------------------------------------------
// Read: traces filtered on a span attribute with many spans stored

const READ_SHAPE: TraceShape = { spans: 100, attrBytes: 1024 };

const CAIRN_TRACES = `query($f: String, $n: Int) {
  traces(filter: $f, first: $n) {
    edges { node { id name status startTime durationMs spanCount tags { key value } } }
  }
}`;

async function cairnHasTracesQuery(ctx: Ctx): Promise<boolean> {
  const d = await ctx.cairn.gql<{ __type: { fields: { name: string }[] } }>(
    '{ __type(name: "Query") { fields { name } } }',
  );
  return d.__type.fields.some((f) => f.name === 'traces');
}

/** Loads `n` spans as 100-span traces through OTLP, `clients` posts in flight; returns seconds. */
async function loadOtlp(
  ctx: Ctx,
  system: System,
  templates: TraceTemplate[],
  traces: number,
  clients: number,
  experimentId: string,
  traceIds?: string[],
): Promise<number> {
  const t0 = performance.now();
  await mapConcurrent(
    Array.from({ length: traces }, (_, i) => i),
    clients,
    async (i) => {
      const t = templates[i % templates.length]!;
      const { body, traceId } = t.next();
      await post(ctx, system, body, experimentId);
      traceIds?.push(traceId);
      acked[system].spans += t.spans;
      acked[system].traces += 1;
    },
  );
  return (performance.now() - t0) / 1000;
}

/**
 * Clones MLflow's loaded traces in SQL until it holds `target` spans: every table keyed by a
 * trace (`request_id` / `trace_id` columns) gets copies of the template traces' rows with a new
 * trace id (also replaced inside text columns, e.g. the span JSON in `spans.content`).
 */
async function cloneMlflowTraces(
  ctx: Ctx,
  experimentId: string,
  spansPerTrace: number,
  target: number,
): Promise<number> {
  const pool = ctx.mlflow.pool;
  const { rows: tpl } = await pool.query<{ request_id: string }>(
    'SELECT request_id FROM trace_info WHERE experiment_id = $1',
    [Number(experimentId)],
  );
  const have = tpl.length * spansPerTrace;
  const copies = Math.ceil((target - have) / have);
  if (copies <= 0) return 0;
  // Generated, identity and sequence-default columns are left to their defaults.
  const { rows: cols } = await pool.query<{
    table_name: string;
    column_name: string;
    data_type: string;
  }>(
    `SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c
       JOIN information_schema.tables t USING (table_schema, table_name)
      WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
        AND c.is_generated = 'NEVER' AND c.is_identity = 'NO'
        AND coalesce(c.column_default, '') NOT LIKE 'nextval(%'
      ORDER BY c.table_name, c.ordinal_position`,
  );
  const tables = new Map<string, { column: string; type: string }[]>();
  for (const c of cols) {
    if (!tables.has(c.table_name)) tables.set(c.table_name, []);
    tables.get(c.table_name)!.push({ column: c.column_name, type: c.data_type });
  }
  const keyed = [...tables].filter(([, cs]) =>
    cs.some((c) => c.column === 'request_id' || c.column === 'trace_id'),
  );
  // trace_info first (the others reference it).
  keyed.sort(([a], [b]) => Number(b === 'trace_info') - Number(a === 'trace_info'));
  const ids = tpl.map((r) => r.request_id);
  const client = await pool.connect();
  const t0 = performance.now();
  try {
    // Batches of copies, one transaction each.
    const step = Math.max(1, Math.floor(20_000 / tpl.length));
    for (let from = 1; from <= copies; from += step) {
      const to = Math.min(copies, from + step - 1);
      await client.query('BEGIN');
      for (const [table, cs] of keyed) {
        const idCol = cs.some((c) => c.column === 'request_id') ? 'request_id' : 'trace_id';
        // tr-<32 hex>: the first 8 hex digits become the copy number.
        const newId = `('tr-' || lpad(to_hex(k), 8, '0') || substr(${idCol}, 12))`;
        const exprs = cs.map(({ column, type }) => {
          if (column === 'request_id' || column === 'trace_id') return newId;
          if (type === 'text' || type === 'character varying')
            return `replace(replace("${column}", ${idCol}, ${newId}), substr(${idCol}, 4), substr(${newId}, 4))`;
          return `"${column}"`;
        });
        const colList = cs.map((c) => `"${c.column}"`).join(', ');
        await client.query(
          `INSERT INTO "${table}" (${colList})
           SELECT ${exprs.join(', ')} FROM "${table}", generate_series($2::int, $3::int) AS k
            WHERE ${idCol} = ANY($1)`,
          [ids, from, to],
        );
      }
      await client.query('COMMIT');
    }
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
  ctx.log(
    `  B5 MLflow: cloned ${copies} × ${tpl.length} traces in SQL (${keyed.map(([t]) => t).join(', ')}) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  return copies * tpl.length * spansPerTrace;
}

/**
 * Clones Cairn's projected read-load traces in SQL until it holds `target` spans: the rows of
 * `traces`, `trace_spans`, `trace_tags` and `trace_metadata` of the template traces are copied
 * with a new trace id (copy number in its first 8 hex digits). Nothing in those rows but the id
 * itself depends on the trace id, so each copy is the row set the traces projection writes for
 * the same spans under that id; the copies have no `SpansIngested` events behind them (a rebuild
 * would drop them), which the read benchmark does not need.
 */
async function cloneCairnTraces(
  ctx: Ctx,
  traceIds: readonly string[],
  spansPerTrace: number,
  target: number,
): Promise<number> {
  const have = traceIds.length * spansPerTrace;
  const copies = Math.ceil((target - have) / have);
  if (copies <= 0) return 0;
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: await ctx.cairn.localDatabaseUrl() });
  await client.connect();
  const t0 = performance.now();
  try {
    const tables = ['traces', 'trace_spans', 'trace_tags', 'trace_metadata'];
    const { rows: cols } = await client.query<{ table_name: string; column_name: string }>(
      `SELECT table_name, column_name FROM information_schema.columns
        WHERE table_schema = current_schema() AND table_name = ANY($1) AND is_generated = 'NEVER'
        ORDER BY table_name, ordinal_position`,
      [tables],
    );
    const step = Math.max(1, Math.floor(200 / traceIds.length) || 1);
    for (let from = 1; from <= copies; from += step) {
      const to = Math.min(copies, from + step - 1);
      await client.query('BEGIN');
      for (const table of tables) {
        const cs = cols.filter((c) => c.table_name === table).map((c) => c.column_name);
        const exprs = cs.map((c) =>
          c === 'trace_id' ? `lpad(to_hex(k), 8, '0') || substr(trace_id, 9)` : `"${c}"`,
        );
        await client.query(
          `INSERT INTO "${table}" (${cs.map((c) => `"${c}"`).join(', ')})
           SELECT ${exprs.join(', ')} FROM "${table}", generate_series($2::int, $3::int) AS k
            WHERE workspace_id = 'default' AND trace_id = ANY($1)`,
          [traceIds, from, to],
        );
      }
      await client.query('COMMIT');
    }
    await client.query('ANALYZE');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    await client.end();
  }
  ctx.log(
    `  B5 Cairn: cloned ${copies} × ${traceIds.length} traces in SQL in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  clonedCairn.traces += copies * traceIds.length;
  clonedCairn.spans += copies * traceIds.length * spansPerTrace;
  return copies * traceIds.length * spansPerTrace;
}

async function b5Read(
  ctx: Ctx,
  opts: B5Options,
  hasCairn: boolean,
  _ingestExperiment: string,
): Promise<void> {
  const { cairn, mlflow, settings } = ctx;
  const traces = Math.ceil(opts.readSpans / READ_SHAPE.spans);
  const cairnRead = hasCairn && (await cairnHasTracesQuery(ctx));
  if (hasCairn && !cairnRead)
    ctx.notes.push(
      'B5 read: this Cairn build has no GraphQL `traces` query yet: only MLflow was measured.',
    );
  // Five templates per filter value, each with its own start time: trace i is a copy of
  // template i % 500 (new trace id) and carries filterValue(i) on its root span.
  const startMs = Date.UTC(2026, 0, 1);
  const templates = Array.from(
    { length: FILTER_VALUES * 5 },
    (_, j) => new TraceTemplate(READ_SHAPE, j, startMs + j * 60_000),
  );
  const experimentId = await mlflow.createExperiment(`b5-read-${Date.now()}`);
  ctx.log(`B5 read: loading ${(traces * READ_SHAPE.spans).toLocaleString('en')} spans per system`);
  let cairnLoad = NaN;
  const cairnIds: string[] = [];
  let cairnCloned = 0;
  let cairnCloneS = 0;
  let cairnOtlpSpans = 0;
  if (hasCairn) {
    const before = acked.cairn.spans;
    const t0 = performance.now();
    const cairnOtlpTraces = Math.min(
      traces,
      Math.max(templates.length, Math.ceil(opts.cairnOtlpLoadCap / READ_SHAPE.spans)),
    );
    await loadOtlp(ctx, 'cairn', templates, cairnOtlpTraces, opts.clients, '', cairnIds);
    const ackS = (performance.now() - t0) / 1000;
    const q = await cairnQueryable(ctx);
    cairnLoad = Number.isNaN(q) ? ackS : (q - t0) / 1000;
    const n = acked.cairn.spans - before;
    cairnOtlpSpans = n;
    ctx.log(
      `  B5 read: Cairn loaded ${n.toLocaleString('en')} spans in ${ackS.toFixed(1)} s acked (${fmtRate(n / ackS, 'spans/s')}), ${cairnLoad.toFixed(1)} s queryable (${fmtRate(n / cairnLoad, 'spans/s')})`,
    );
    await sql(await cairn.localDatabaseUrl(), 'ANALYZE');
    if (cairnProjectsTraces && cairnOtlpTraces < traces) {
      const tc = performance.now();
      cairnCloned = await cloneCairnTraces(
        ctx,
        cairnIds,
        READ_SHAPE.spans,
        traces * READ_SHAPE.spans,
      );
      cairnCloneS = (performance.now() - tc) / 1000;
    }
  }
  const mlflowOtlpTraces = Math.min(
    traces,
    Math.max(FILTER_VALUES, Math.ceil(opts.mlflowOtlpLoadCap / READ_SHAPE.spans)),
  );
  const mlflowOtlpS = await loadOtlp(
    ctx,
    'mlflow',
    templates,
    mlflowOtlpTraces,
    opts.clients,
    experimentId,
  );
  const mlflowOtlpSpans = mlflowOtlpTraces * READ_SHAPE.spans;
  const tm = performance.now();
  const cloned = await cloneMlflowTraces(
    ctx,
    experimentId,
    READ_SHAPE.spans,
    traces * READ_SHAPE.spans,
  );
  const cloneS = (performance.now() - tm) / 1000;
  await mlflow.analyze();
  const mlflowSpans = mlflowOtlpSpans + cloned;
  ctx.notes.push(
    `B5 read data load: ${(traces * READ_SHAPE.spans).toLocaleString('en')} spans (${traces.toLocaleString('en')} traces of 100 spans, 1 KB attributes)${hasCairn ? `; Cairn ${cairnOtlpSpans.toLocaleString('en')} spans through POST /v1/traces (${opts.clients} concurrent) in ${cairnLoad.toFixed(1)} s until ${cairnProjectsTraces ? 'queryable' : 'acknowledged'} (${fmtRate(cairnOtlpSpans / cairnLoad, 'spans/s')})${cairnCloned ? `, then ${cairnCloned.toLocaleString('en')} cloned in SQL from those projected rows (new trace ids; traces, trace_spans, trace_tags, trace_metadata) in ${cairnCloneS.toFixed(1)} s` : ''}` : ''}; MLflow ${mlflowOtlpSpans.toLocaleString('en')} spans through its /v1/traces in ${mlflowOtlpS.toFixed(1)} s (${fmtRate(mlflowOtlpSpans / mlflowOtlpS, 'spans/s')})${cloned ? `, then ${cloned.toLocaleString('en')} cloned in SQL in ${cloneS.toFixed(1)} s` : ''}. Loading is not what the read row measures.`,
  );

  // Cairn's grammar: attributes.<key>; a dotted key may need backticks.
  let cairnFilter = (v: string) => `attributes.${FILTER_KEY} = '${v}'`;
  if (cairnRead) {
    try {
      await cairn.gql(CAIRN_TRACES, { f: cairnFilter(filterValue(0)), n: 1 });
    } catch {
      cairnFilter = (v: string) => `attributes.\`${FILTER_KEY}\` = '${v}'`;
    }
  }
  // MLflow: span.attributes.<key> supports LIKE / ILIKE / RLIKE, matched against the stored span
  // JSON (`spans.content LIKE '%"<key>"<pattern>%'`); `=` is accepted but never matches there.
  const mlflowFilter = (v: string) => `span.attributes.\`${FILTER_KEY}\` LIKE '%${v}%'`;
  const lat = { cairn: [] as number[], mlflow: [] as number[] };
  const counts = { cairn: -1, mlflow: -1 };
  const reps = settings.quick ? 10 : 30;
  const budgetMs = settings.quick ? 30_000 : 180_000;
  const started = performance.now();
  for (let rep = 0; rep < reps + 2; rep++) {
    const v = filterValue(rep * 37 + 11);
    for (const system of order(rep, 0).filter((s) => cairnRead || s === 'mlflow')) {
      const t0 = performance.now();
      if (system === 'cairn') {
        const d = await cairn.gql<{ traces: { edges: unknown[] } }>(CAIRN_TRACES, {
          f: cairnFilter(v),
          n: 50,
        });
        counts.cairn = d.traces.edges.length;
      } else {
        const res = await request(
          mlflow.base,
          'POST',
          '/api/3.0/mlflow/traces/search',
          JSON.stringify({
            locations: [
              { type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: experimentId } },
            ],
            filter: mlflowFilter(v),
            max_results: 50,
          }),
        );
        if (res.status !== 200)
          throw new Error(`mlflow traces/search: HTTP ${res.status}: ${res.body.slice(0, 300)}`);
        const d = JSON.parse(res.body) as { traces?: unknown[] };
        counts.mlflow = d.traces?.length ?? 0;
      }
      if (rep >= 2) lat[system].push(performance.now() - t0);
    }
    if (rep >= 6 && performance.now() - started > budgetMs) break;
  }
  const expected = Math.min(50, Math.ceil(traces / FILTER_VALUES));
  for (const s of ['cairn', 'mlflow'] as const) {
    if ((s === 'mlflow' || cairnRead) && counts[s] !== expected)
      ctx.notes.push(`B5 read: ${s} returned ${counts[s]} traces per page, expected ${expected}.`);
  }
  const m = summarize(lat.mlflow);
  const workload = `${(traces * READ_SHAPE.spans).toLocaleString('en')} spans stored (MLflow ${mlflowSpans.toLocaleString('en')}), filter on a root-span attribute (1 in ${FILTER_VALUES} traces), page of 50 (${counts.cairn < 0 ? 'n/a' : counts.cairn}/${counts.mlflow} rows)`;
  const target =
    traces * READ_SHAPE.spans >= 1_000_000
      ? 'p95 < 300 ms at 1M spans'
      : 'p95 < 300 ms (at 1M spans)';
  if (cairnRead) {
    const c = summarize(lat.cairn);
    ctx.rows.push({
      bench: 'B5 trace search',
      workload,
      cairn: `p50 ${fmtMs(c.p50)}, p95 ${fmtMs(c.p95)}`,
      mlflow: `p50 ${fmtMs(m.p50)}, p95 ${fmtMs(m.p95)}`,
      ratio: m.p50 / c.p50,
      target,
      verdict: c.p95 < 300 ? 'met' : 'missed',
    });
    ctx.details.push({
      bench: 'B5',
      workload: `traces(first: 50, filter: "${cairnFilter('cust-…')}")`,
      system: 'cairn',
      metric: 'latency',
      reps: c.n,
      median: fmtMs(c.p50),
      latency: c,
    });
  } else {
    ctx.rows.push({
      bench: 'B5 trace search',
      workload,
      cairn: 'n/a',
      mlflow: `p50 ${fmtMs(m.p50)}, p95 ${fmtMs(m.p95)}`,
      ratio: NaN,
      target,
      verdict: '',
    });
  }
  ctx.details.push({
    bench: 'B5',
    workload: `traces/search filter "${mlflowFilter('cust-…')}", max_results 50`,
    system: 'mlflow',
    metric: 'latency',
    reps: m.n,
    median: fmtMs(m.p50),
    latency: m,
  });
}

/** Every acknowledged span and trace must be in the read models. */
async function durabilityCheck(ctx: Ctx, hasCairn: boolean, _experimentId: string): Promise<void> {
  if (hasCairn && !cairnProjectsTraces) {
    const url = await ctx.cairn.localDatabaseUrl();
    const { n } = (
      await sql(url, "SELECT count(*)::int8 AS n FROM events WHERE type = 'SpansIngested'")
    )[0] as { n: string };
    ctx.notes.push(
      `B5 durability check (event log only: no traces projection): ${acked.cairn.traces.toLocaleString('en')} acknowledged requests, ${Number(n).toLocaleString('en')} SpansIngested events.`,
    );
  } else if (hasCairn) {
    await ctx.cairn.waitQueryable();
    const url = await ctx.cairn.localDatabaseUrl();
    const { spans, traces } = (
      await sql(
        url,
        'SELECT (SELECT count(*) FROM trace_spans)::int8 AS spans, (SELECT count(*) FROM traces)::int8 AS traces',
      )
    )[0] as { spans: string; traces: string };
    let gqlTraces = NaN;
    if (await cairnHasTracesQuery(ctx))
      try {
        const d = await ctx.cairn.gql<{ traces: { totalCount: number } }>(
          'query { traces(first: 1) { totalCount } }',
        );
        gqlTraces = d.traces.totalCount;
      } catch (error) {
        ctx.log(`  B5: traces totalCount failed: ${String(error)}`);
      }
    // Rows cloned in SQL for the read load are counted apart.
    const ok =
      Number(spans) === acked.cairn.spans + clonedCairn.spans &&
      Number(traces) === acked.cairn.traces + clonedCairn.traces &&
      (Number.isNaN(gqlTraces) || gqlTraces === acked.cairn.traces + clonedCairn.traces);
    ctx.notes.push(
      ok
        ? `B5 durability check: all ${acked.cairn.spans.toLocaleString('en')} acknowledged spans (${acked.cairn.traces.toLocaleString('en')} traces) are in Cairn's read model (trace_spans and traces rows${clonedCairn.spans ? `, besides ${clonedCairn.spans.toLocaleString('en')} cloned spans` : ''}${Number.isNaN(gqlTraces) ? '' : `; GraphQL traces totalCount ${gqlTraces.toLocaleString('en')}`}): no lost writes.`
        : `B5 durability check FAILED: Cairn acknowledged ${acked.cairn.spans} spans / ${acked.cairn.traces} traces; read model has ${spans} spans / ${traces} traces (GraphQL totalCount ${gqlTraces}).`,
    );
  }
  const { rows } = await ctx.mlflow.pool.query<{
    spans: string;
    traces: string;
    deadlocks: string;
  }>(
    `SELECT (SELECT count(*) FROM spans)::int8 AS spans, (SELECT count(*) FROM trace_info)::int8 AS traces,
            (SELECT deadlocks FROM pg_stat_database WHERE datname = current_database())::int8 AS deadlocks`,
  );
  if (Number(rows[0]!.deadlocks) > 0)
    ctx.notes.push(
      `B5: MLflow's PostgreSQL counted ${rows[0]!.deadlocks} deadlocks during the run (log_spans retries them after a backoff of 2^attempt − 1 s + jitter).`,
    );
  ctx.log(
    `  B5: MLflow acknowledged ${acked.mlflow.spans} spans / ${acked.mlflow.traces} traces through OTLP; its tables hold ${rows[0]!.spans} spans / ${rows[0]!.traces} traces (clones included)`,
  );
}
