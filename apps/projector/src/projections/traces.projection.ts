import { sql, type Transaction } from 'kysely';
import type { DB } from '@cairn/db';
import {
  assertNever,
  type CairnEvent,
  type EventType,
  type SpanKind,
  type SpanStatusCode,
} from '@cairn/events';
import { CHANGES_CHANNEL, TRACES_CHANGED_NOTICE, encodeChangeNotices } from '../change-notices.ts';
import type { Projection } from '../projection.ts';
import { canonicalJson, mergeSpans, spanRecordOf, type SpanRecord } from '../tracing/merge.ts';
import { normaliseSpan, traceFieldsOf, type TraceFields } from '../tracing/normalise.ts';
import { isoToNs, patternMatches, priceSpan, type PriceEntry } from '../tracing/prices.ts';

const handles = [
  'SpansIngested',
  'TraceTagSet',
  'TraceTagDeleted',
  'TraceMetadataSet',
  'TraceMetadataDeleted',
  'TraceDeleted',
  'ModelPriceSet',
  'ModelPriceDeleted',
  'TracesPurged',
] as const satisfies readonly EventType[];

type Handled = Extract<CairnEvent, { type: (typeof handles)[number] }>;
type SpansIngested = Extract<CairnEvent, { type: 'SpansIngested' }>;

const SEP = '\u0000';

/** Traces changed by a batch, per workspace: the `traces:changed` notices name them. */
class ChangedTraces {
  readonly byWorkspace = new Map<string, Set<string>>();
  add(workspaceId: string, traceId: string): void {
    let set = this.byWorkspace.get(workspaceId);
    if (!set) this.byWorkspace.set(workspaceId, (set = new Set()));
    set.add(traceId);
  }
}

interface TraceKey {
  w: string;
  t: string;
}

function unnestTraces(keys: readonly TraceKey[]) {
  return sql`unnest(${keys.map((k) => k.w)}::text[], ${keys.map((k) => k.t)}::text[])`;
}

// ---------------------------------------------------------------------------------------------
// prices

async function loadPrices(
  trx: Transaction<DB>,
  workspaces: readonly string[],
): Promise<Map<string, PriceEntry[]>> {
  const rows = await trx
    .selectFrom('model_prices')
    .selectAll()
    .where('workspace_id', 'in', workspaces)
    .execute();
  const out = new Map<string, PriceEntry[]>(workspaces.map((w) => [w, []]));
  for (const r of rows) {
    out.get(r.workspace_id)?.push({
      id: r.price_id,
      modelPattern: r.model_pattern,
      provider: r.provider,
      inputPerMillion: r.input_per_million,
      outputPerMillion: r.output_per_million,
      cachedInputPerMillion: r.cached_input_per_million,
      effectiveFromNs: isoToNs(r.effective_from),
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// spans

interface ExistingSpanRow {
  workspace_id: string;
  trace_id: string;
  span_id: string;
  parent_span_id: string | null;
  trace_state: string | null;
  name: string;
  kind: string;
  start_ns: string;
  end_ns: string | null;
  status_code: string;
  status_message: string | null;
  attributes: Record<string, unknown>;
  events: SpanRecord['events'];
  links: SpanRecord['links'];
  resource: Record<string, unknown>;
  scope: SpanRecord['scope'];
  dropped_attributes_count: number;
  dropped_events_count: number;
  dropped_links_count: number;
  trace_fields: TraceFields | null;
}

function recordOfRow(r: ExistingSpanRow): SpanRecord {
  return {
    traceId: r.trace_id,
    spanId: r.span_id,
    parentSpanId: r.parent_span_id,
    traceState: r.trace_state,
    name: r.name,
    kind: r.kind as SpanKind,
    startTimeUnixNano: r.start_ns,
    endTimeUnixNano: r.end_ns ?? '0',
    status: { code: r.status_code as SpanStatusCode, message: r.status_message },
    attributes: r.attributes,
    events: r.events,
    links: r.links,
    resource: r.resource,
    scope: r.scope,
    droppedAttributesCount: r.dropped_attributes_count,
    droppedEventsCount: r.dropped_events_count,
    droppedLinksCount: r.dropped_links_count,
  };
}

interface PendingSpan {
  w: string;
  span: SpanRecord;
}

/**
 * All spans of the batch's `SpansIngested` events: folded by id in memory (mergeSpans), spans of
 * deleted traces dropped, merged with the stored versions (one SELECT), then one upsert of every
 * changed span, one statement recomputing the touched traces, and one each for the tags and
 * metadata that span attributes set.
 */
async function applySpans(
  trx: Transaction<DB>,
  events: readonly SpansIngested[],
  changed: ChangedTraces,
): Promise<void> {
  if (events.length === 0) return;
  const pending = new Map<string, PendingSpan>();
  for (const e of events) {
    const w = e.workspaceId;
    for (const s of e.data.spans) {
      const span = spanRecordOf(s, e.data.resources);
      const k = `${w}${SEP}${span.traceId}${SEP}${span.spanId}`;
      const seen = pending.get(k);
      pending.set(k, { w, span: seen ? mergeSpans(seen.span, span) : span });
    }
  }

  const traceKeys = new Map<string, TraceKey>();
  for (const { w, span } of pending.values())
    traceKeys.set(`${w}${SEP}${span.traceId}`, { w, t: span.traceId });
  const deleted = await sql<{ workspace_id: string; trace_id: string }>`
    SELECT tr.workspace_id, tr.trace_id FROM traces tr
    JOIN ${unnestTraces([...traceKeys.values()])} AS k(w, t) ON tr.workspace_id = k.w AND tr.trace_id = k.t
    WHERE tr.deleted`.execute(trx);
  for (const r of deleted.rows) traceKeys.delete(`${r.workspace_id}${SEP}${r.trace_id}`);
  // A deleted trace ignores its spans, whenever they come (the final state is order-free).
  const live = [...pending].filter(([, p]) => traceKeys.has(`${p.w}${SEP}${p.span.traceId}`));
  if (live.length === 0) return;

  const existing = await sql<ExistingSpanRow>`
    SELECT s.workspace_id, s.trace_id, s.span_id, s.parent_span_id, s.trace_state, s.name, s.kind,
           s.start_ns::text AS start_ns, s.end_ns::text AS end_ns, s.status_code, s.status_message,
           s.attributes, s.events, s.links, s.resource, s.scope, s.dropped_attributes_count,
           s.dropped_events_count, s.dropped_links_count, s.trace_fields
    FROM trace_spans s
    JOIN unnest(${live.map(([, p]) => p.w)}::text[], ${live.map(([, p]) => p.span.traceId)}::text[],
                ${live.map(([, p]) => p.span.spanId)}::text[]) AS k(w, t, s)
      ON s.workspace_id = k.w AND s.trace_id = k.t AND s.span_id = k.s`.execute(trx);
  const stored = new Map(
    existing.rows.map((r) => [`${r.workspace_id}${SEP}${r.trace_id}${SEP}${r.span_id}`, r]),
  );

  const prices = await loadPrices(trx, [...new Set(live.map(([, p]) => p.w))]);
  const rows: Record<string, unknown>[] = [];
  const touched = new Map<string, TraceKey>();
  const keyValuesTouched = new Map<string, TraceKey>();
  for (const [k, { w, span: incoming }] of live) {
    const old = stored.get(k);
    let span = incoming;
    if (old) {
      const before = recordOfRow(old);
      span = mergeSpans(before, incoming);
      if (canonicalJson(span) === canonicalJson(before)) continue; // nothing new
    }
    const n = normaliseSpan(span.attributes);
    const fields = traceFieldsOf(span.attributes, span.resource);
    const tk = `${w}${SEP}${span.traceId}`;
    touched.set(tk, { w, t: span.traceId });
    if (fields?.tags || fields?.metadata || old?.trace_fields?.tags || old?.trace_fields?.metadata)
      keyValuesTouched.set(tk, { w, t: span.traceId });
    rows.push({
      workspace_id: w,
      trace_id: span.traceId,
      span_id: span.spanId,
      parent_span_id: span.parentSpanId,
      trace_state: span.traceState,
      name: span.name,
      kind: span.kind,
      span_type: n.spanType,
      start_ns: span.startTimeUnixNano,
      end_ns: span.endTimeUnixNano === '0' ? null : span.endTimeUnixNano,
      status_code: span.status.code,
      status_message: span.status.message,
      attributes: span.attributes,
      events: span.events,
      links: span.links,
      resource: span.resource,
      scope: span.scope,
      dropped_attributes_count: span.droppedAttributesCount,
      dropped_events_count: span.droppedEventsCount,
      dropped_links_count: span.droppedLinksCount,
      inputs: n.inputs ?? null,
      outputs: n.outputs ?? null,
      model: n.model,
      provider: n.provider,
      input_tokens: n.inputTokens,
      output_tokens: n.outputTokens,
      total_tokens: n.totalTokens,
      cached_tokens: n.cachedTokens,
      reasoning_tokens: n.reasoningTokens,
      cost_usd: priceSpan(
        {
          model: n.model,
          provider: n.provider,
          startTimeUnixNano: span.startTimeUnixNano,
          inputTokens: n.inputTokens,
          outputTokens: n.outputTokens,
          cachedTokens: n.cachedTokens,
        },
        prices.get(w) ?? [],
      ),
      trace_fields: fields,
    });
  }
  if (rows.length === 0) return;
  await upsertSpans(trx, rows);
  const traces = [...touched.values()];
  await recomputeTraces(trx, traces);
  const kv = [...keyValuesTouched.values()];
  if (kv.length > 0) {
    await recomputeSpanKeyValues(trx, 'trace_tags', 'tags', kv);
    await recomputeSpanKeyValues(trx, 'trace_metadata', 'metadata', kv);
  }
  for (const { w, t } of traces) changed.add(w, t);
}

async function upsertSpans(trx: Transaction<DB>, rows: readonly Record<string, unknown>[]) {
  await sql`
    INSERT INTO trace_spans AS s (
      workspace_id, trace_id, span_id, parent_span_id, trace_state, name, kind, span_type,
      start_ns, end_ns, start_time, duration_ms, status_code, status_message, attributes, events,
      links, resource, scope, dropped_attributes_count, dropped_events_count, dropped_links_count,
      inputs, outputs, model, provider, input_tokens, output_tokens, total_tokens, cached_tokens,
      reasoning_tokens, cost_usd, trace_fields)
    SELECT r.workspace_id, r.trace_id, r.span_id, r.parent_span_id, r.trace_state, r.name, r.kind,
           r.span_type, r.start_ns, r.end_ns,
           timestamptz 'epoch' + (r.start_ns / 1000) * interval '1 microsecond',
           CASE WHEN r.end_ns IS NULL THEN NULL ELSE (r.end_ns - r.start_ns)::float8 / 1e6 END,
           r.status_code, r.status_message, r.attributes, r.events, r.links, r.resource, r.scope,
           r.dropped_attributes_count, r.dropped_events_count, r.dropped_links_count, r.inputs,
           r.outputs, r.model, r.provider, r.input_tokens, r.output_tokens, r.total_tokens,
           r.cached_tokens, r.reasoning_tokens, r.cost_usd, r.trace_fields
    FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS r(
      workspace_id text, trace_id text, span_id text, parent_span_id text, trace_state text,
      name text, kind text, span_type text, start_ns int8, end_ns int8, status_code text,
      status_message text, attributes jsonb, events jsonb, links jsonb, resource jsonb, scope jsonb,
      dropped_attributes_count int4, dropped_events_count int4, dropped_links_count int4,
      inputs jsonb, outputs jsonb, model text, provider text, input_tokens int8,
      output_tokens int8, total_tokens int8, cached_tokens int8, reasoning_tokens int8,
      cost_usd float8, trace_fields jsonb)
    ON CONFLICT (workspace_id, trace_id, span_id) DO UPDATE SET
      parent_span_id = excluded.parent_span_id, trace_state = excluded.trace_state,
      name = excluded.name, kind = excluded.kind, span_type = excluded.span_type,
      start_ns = excluded.start_ns, end_ns = excluded.end_ns, start_time = excluded.start_time,
      duration_ms = excluded.duration_ms, status_code = excluded.status_code,
      status_message = excluded.status_message, attributes = excluded.attributes,
      events = excluded.events, links = excluded.links, resource = excluded.resource,
      scope = excluded.scope, dropped_attributes_count = excluded.dropped_attributes_count,
      dropped_events_count = excluded.dropped_events_count,
      dropped_links_count = excluded.dropped_links_count, inputs = excluded.inputs,
      outputs = excluded.outputs, model = excluded.model, provider = excluded.provider,
      input_tokens = excluded.input_tokens, output_tokens = excluded.output_tokens,
      total_tokens = excluded.total_tokens, cached_tokens = excluded.cached_tokens,
      reasoning_tokens = excluded.reasoning_tokens, cost_usd = excluded.cost_usd,
      trace_fields = excluded.trace_fields`.execute(trx);
}

/**
 * The `traces` rows of the given traces, recomputed from their spans in one statement. The root
 * is the span without a parent, else the one whose parent is not in the trace (earliest start,
 * then smallest span id). Trace-level fields: per field, the first span that sets it in the order
 * root, then start, then span id. Deleted traces are left alone.
 */
async function recomputeTraces(trx: Transaction<DB>, keys: readonly TraceKey[]): Promise<void> {
  if (keys.length === 0) return;
  const field = (name: string) =>
    sql`(array_agg(f.trace_fields->>${name} ORDER BY f.rnk) FILTER (WHERE f.trace_fields ? ${name}))[1]`;
  await sql`
    WITH k AS (SELECT DISTINCT w, t FROM ${unnestTraces(keys)} AS u(w, t)),
    s AS MATERIALIZED (
      SELECT s.workspace_id, s.trace_id, s.span_id, s.status_code, s.start_ns, s.end_ns,
             s.input_tokens, s.output_tokens, s.total_tokens, s.cached_tokens, s.reasoning_tokens,
             s.cost_usd, s.trace_fields IS NOT NULL AS has_fields,
             CASE WHEN s.parent_span_id IS NULL THEN 0
                  WHEN EXISTS (SELECT 1 FROM trace_spans p
                               WHERE p.workspace_id = s.workspace_id AND p.trace_id = s.trace_id
                                 AND p.span_id = s.parent_span_id) THEN 2
                  ELSE 1 END AS root_rank
      FROM trace_spans s JOIN k ON s.workspace_id = k.w AND s.trace_id = k.t
    ),
    agg AS (
      SELECT workspace_id, trace_id, count(*)::int4 AS span_count,
             (count(*) FILTER (WHERE status_code = 'ERROR'))::int4 AS error_count,
             min(start_ns) AS start_ns, max(end_ns) AS end_ns,
             coalesce(sum(input_tokens), 0)::int8 AS input_tokens,
             coalesce(sum(output_tokens), 0)::int8 AS output_tokens,
             coalesce(sum(total_tokens), 0)::int8 AS total_tokens,
             coalesce(sum(cached_tokens), 0)::int8 AS cached_tokens,
             coalesce(sum(reasoning_tokens), 0)::int8 AS reasoning_tokens,
             sum(cost_usd ORDER BY span_id) AS cost_usd -- float addition in a fixed order
      FROM s GROUP BY workspace_id, trace_id
    ),
    root AS (
      SELECT DISTINCT ON (workspace_id, trace_id) workspace_id, trace_id, span_id
      FROM s WHERE root_rank < 2
      ORDER BY workspace_id, trace_id, root_rank, start_ns, span_id
    ),
    f AS (
      SELECT s.workspace_id, s.trace_id, ts.trace_fields,
             row_number() OVER (PARTITION BY s.workspace_id, s.trace_id
                                ORDER BY (s.span_id = r.span_id) IS TRUE DESC, s.start_ns, s.span_id) AS rnk
      FROM s
      JOIN trace_spans ts ON ts.workspace_id = s.workspace_id AND ts.trace_id = s.trace_id AND ts.span_id = s.span_id
      LEFT JOIN root r ON r.workspace_id = s.workspace_id AND r.trace_id = s.trace_id
      WHERE s.has_fields
    ),
    fields AS (
      SELECT f.workspace_id, f.trace_id,
             ${field('sessionId')} AS session_id, ${field('userId')} AS user_id,
             ${field('environment')} AS environment, ${field('runId')} AS run_id,
             ${field('modelVersion')} AS model_version,
             (array_agg(f.trace_fields->'promptVersions' ORDER BY f.rnk)
                FILTER (WHERE f.trace_fields ? 'promptVersions'))[1] AS prompt_versions
      FROM f GROUP BY f.workspace_id, f.trace_id
    )
    INSERT INTO traces AS t (
      workspace_id, trace_id, name, root_span_id, status, start_ns, end_ns, start_time, end_time,
      duration_ms, inputs, outputs, session_id, user_id, environment, run_id, model_version,
      prompt_versions, span_count, error_count, input_tokens, output_tokens, total_tokens,
      cached_tokens, reasoning_tokens, cost_usd, deleted, updated_at)
    SELECT a.workspace_id, a.trace_id, coalesce(rs.name, ''), r.span_id,
           CASE WHEN a.error_count > 0 THEN 'ERROR' WHEN rs.status_code = 'OK' THEN 'OK' ELSE 'UNSET' END,
           a.start_ns, a.end_ns,
           timestamptz 'epoch' + (a.start_ns / 1000) * interval '1 microsecond',
           CASE WHEN a.end_ns IS NULL THEN NULL
                ELSE timestamptz 'epoch' + (a.end_ns / 1000) * interval '1 microsecond' END,
           CASE WHEN a.end_ns IS NULL THEN NULL ELSE (a.end_ns - a.start_ns)::float8 / 1e6 END,
           rs.inputs, rs.outputs, fl.session_id, fl.user_id, fl.environment, fl.run_id,
           fl.model_version, coalesce(fl.prompt_versions, '[]'::jsonb), a.span_count,
           a.error_count, a.input_tokens, a.output_tokens, a.total_tokens, a.cached_tokens,
           a.reasoning_tokens, a.cost_usd, false, now()
    FROM agg a
    LEFT JOIN root r ON r.workspace_id = a.workspace_id AND r.trace_id = a.trace_id
    LEFT JOIN trace_spans rs ON rs.workspace_id = r.workspace_id AND rs.trace_id = r.trace_id AND rs.span_id = r.span_id
    LEFT JOIN fields fl ON fl.workspace_id = a.workspace_id AND fl.trace_id = a.trace_id
    ON CONFLICT (workspace_id, trace_id) DO UPDATE SET
      name = excluded.name, root_span_id = excluded.root_span_id, status = excluded.status,
      start_ns = excluded.start_ns, end_ns = excluded.end_ns, start_time = excluded.start_time,
      end_time = excluded.end_time, duration_ms = excluded.duration_ms, inputs = excluded.inputs,
      outputs = excluded.outputs, session_id = excluded.session_id, user_id = excluded.user_id,
      environment = excluded.environment, run_id = excluded.run_id,
      model_version = excluded.model_version, prompt_versions = excluded.prompt_versions,
      span_count = excluded.span_count, error_count = excluded.error_count,
      input_tokens = excluded.input_tokens, output_tokens = excluded.output_tokens,
      total_tokens = excluded.total_tokens, cached_tokens = excluded.cached_tokens,
      reasoning_tokens = excluded.reasoning_tokens, cost_usd = excluded.cost_usd,
      updated_at = excluded.updated_at
    WHERE NOT t.deleted`.execute(trx);
}

/**
 * The `source = 'span'` rows of `trace_tags` / `trace_metadata` of the given traces, from their
 * spans' trace fields in one statement: per key, the value of the first span in precedence order
 * (root, start, span id); keys no span sets any more are removed.
 */
async function recomputeSpanKeyValues(
  trx: Transaction<DB>,
  table: 'trace_tags' | 'trace_metadata',
  field: 'tags' | 'metadata',
  keys: readonly TraceKey[],
): Promise<void> {
  await sql`
    WITH k AS (SELECT DISTINCT w, t FROM ${unnestTraces(keys)} AS u(w, t)),
    fresh AS (
      SELECT DISTINCT ON (s.workspace_id, s.trace_id, e.key) s.workspace_id, s.trace_id, e.key, e.value
      FROM trace_spans s
      JOIN k ON s.workspace_id = k.w AND s.trace_id = k.t
      JOIN traces tr ON tr.workspace_id = s.workspace_id AND tr.trace_id = s.trace_id
      CROSS JOIN LATERAL jsonb_each_text(s.trace_fields->${field}) AS e(key, value)
      WHERE s.trace_fields ? ${field}
      ORDER BY s.workspace_id, s.trace_id, e.key, (s.span_id = tr.root_span_id) IS TRUE DESC,
               s.start_ns, s.span_id
    ),
    gone AS (
      DELETE FROM ${sql.table(table)} x USING k
      WHERE x.workspace_id = k.w AND x.trace_id = k.t AND x.source = 'span'
        AND NOT EXISTS (SELECT 1 FROM fresh f
                        WHERE f.workspace_id = x.workspace_id AND f.trace_id = x.trace_id AND f.key = x.key)
    )
    INSERT INTO ${sql.table(table)} AS x (workspace_id, trace_id, key, source, value)
    SELECT workspace_id, trace_id, key, 'span', value FROM fresh
    ON CONFLICT (workspace_id, trace_id, key, source) DO UPDATE SET value = excluded.value
      WHERE x.value IS DISTINCT FROM excluded.value`.execute(trx);
}

// ---------------------------------------------------------------------------------------------
// people's changes: tags, metadata, deletion

async function setUserKeyValue(
  trx: Transaction<DB>,
  table: 'trace_tags' | 'trace_metadata',
  w: string,
  traceId: string,
  key: string,
  value: string | null,
): Promise<void> {
  // A deleted trace takes no more tags: the state after "tag, delete" and "delete, tag" agree.
  await sql`
    INSERT INTO ${sql.table(table)} AS x (workspace_id, trace_id, key, source, value)
    SELECT ${w}, ${traceId}, ${key}, 'user', ${value}::text
    WHERE NOT EXISTS (SELECT 1 FROM traces WHERE workspace_id = ${w} AND trace_id = ${traceId} AND deleted)
    ON CONFLICT (workspace_id, trace_id, key, source) DO UPDATE SET value = excluded.value`.execute(
    trx,
  );
  await sql`
    UPDATE traces SET updated_at = now()
    WHERE workspace_id = ${w} AND trace_id = ${traceId} AND NOT deleted`.execute(trx);
}

/**
 * The trace's spans, tags and metadata are deleted; its row stays, reset to its defaults and
 * marked deleted (inserted if absent), so that spans arriving later are ignored.
 */
async function deleteTrace(trx: Transaction<DB>, w: string, traceId: string): Promise<void> {
  for (const table of ['trace_spans', 'trace_tags', 'trace_metadata'] as const) {
    await trx
      .deleteFrom(table)
      .where('workspace_id', '=', w)
      .where('trace_id', '=', traceId)
      .execute();
  }
  await sql`
    INSERT INTO traces AS t (workspace_id, trace_id, deleted) VALUES (${w}, ${traceId}, true)
    ON CONFLICT (workspace_id, trace_id) DO UPDATE SET
      name = DEFAULT, root_span_id = DEFAULT, status = DEFAULT, start_ns = DEFAULT,
      end_ns = DEFAULT, start_time = DEFAULT, end_time = DEFAULT, duration_ms = DEFAULT,
      inputs = DEFAULT, outputs = DEFAULT, session_id = DEFAULT, user_id = DEFAULT,
      environment = DEFAULT, run_id = DEFAULT, model_version = DEFAULT,
      prompt_versions = DEFAULT, span_count = DEFAULT, error_count = DEFAULT,
      input_tokens = DEFAULT, output_tokens = DEFAULT, total_tokens = DEFAULT,
      cached_tokens = DEFAULT, reasoning_tokens = DEFAULT, cost_usd = DEFAULT, deleted = true,
      updated_at = now()`.execute(trx);
}

/**
 * Retention (docs/governance.md, "Retention"): the listed traces go as TraceDeleted takes one
 * (spans, tags and metadata deleted; the row stays as a reset tombstone, so spans arriving later
 * are ignored), in one statement per table. The ids come from the event, never from a clock, so
 * a rebuild purges exactly what the live projection purged.
 */
async function purgeTraces(
  trx: Transaction<DB>,
  w: string,
  traceIds: readonly string[],
): Promise<void> {
  for (const table of ['trace_spans', 'trace_tags', 'trace_metadata'] as const) {
    await trx
      .deleteFrom(table)
      .where('workspace_id', '=', w)
      .where('trace_id', 'in', traceIds)
      .execute();
  }
  await sql`
    INSERT INTO traces AS t (workspace_id, trace_id, deleted)
    SELECT ${w}, id, true FROM unnest(${[...traceIds]}::text[]) AS u(id)
    ON CONFLICT (workspace_id, trace_id) DO UPDATE SET
      name = DEFAULT, root_span_id = DEFAULT, status = DEFAULT, start_ns = DEFAULT,
      end_ns = DEFAULT, start_time = DEFAULT, end_time = DEFAULT, duration_ms = DEFAULT,
      inputs = DEFAULT, outputs = DEFAULT, session_id = DEFAULT, user_id = DEFAULT,
      environment = DEFAULT, run_id = DEFAULT, model_version = DEFAULT,
      prompt_versions = DEFAULT, span_count = DEFAULT, error_count = DEFAULT,
      input_tokens = DEFAULT, output_tokens = DEFAULT, total_tokens = DEFAULT,
      cached_tokens = DEFAULT, reasoning_tokens = DEFAULT, cost_usd = DEFAULT, deleted = true,
      updated_at = now()`.execute(trx);
}

// ---------------------------------------------------------------------------------------------
// the price table

/**
 * Re-prices the workspace's spans whose model matches one of `patterns` (the entry's pattern
 * before and after the change) with the workspace's current table, and recomputes their traces.
 */
async function reprice(
  trx: Transaction<DB>,
  w: string,
  patterns: readonly string[],
  changed: ChangedTraces,
): Promise<void> {
  const models = await sql<{ model: string }>`
    SELECT DISTINCT model FROM trace_spans WHERE workspace_id = ${w} AND model IS NOT NULL`.execute(
    trx,
  );
  const affected = models.rows
    .map((r) => r.model)
    .filter((m) => patterns.some((p) => patternMatches(p, m)));
  if (affected.length === 0) return;
  const prices = (await loadPrices(trx, [w])).get(w) ?? [];
  const spans = await sql<{
    trace_id: string;
    span_id: string;
    model: string;
    provider: string | null;
    start_ns: string;
    input_tokens: number | null;
    output_tokens: number | null;
    cached_tokens: number | null;
    cost_usd: number | null;
  }>`
    SELECT trace_id, span_id, model, provider, start_ns::text AS start_ns, input_tokens,
           output_tokens, cached_tokens, cost_usd
    FROM trace_spans WHERE workspace_id = ${w} AND model = ANY(${affected}::text[])`.execute(trx);
  const updates: { t: string; s: string; cost: number | null }[] = [];
  for (const r of spans.rows) {
    const cost = priceSpan(
      {
        model: r.model,
        provider: r.provider,
        startTimeUnixNano: r.start_ns,
        inputTokens: r.input_tokens,
        outputTokens: r.output_tokens,
        cachedTokens: r.cached_tokens,
      },
      prices,
    );
    if (cost !== r.cost_usd) updates.push({ t: r.trace_id, s: r.span_id, cost });
  }
  if (updates.length === 0) return;
  await sql`
    UPDATE trace_spans s SET cost_usd = u.cost
    FROM unnest(${updates.map((u) => u.t)}::text[], ${updates.map((u) => u.s)}::text[],
                ${updates.map((u) => u.cost)}::float8[]) AS u(t, s, cost)
    WHERE s.workspace_id = ${w} AND s.trace_id = u.t AND s.span_id = u.s`.execute(trx);
  const traces = [...new Set(updates.map((u) => u.t))];
  await recomputeTraces(
    trx,
    traces.map((t) => ({ w, t })),
  );
  for (const t of traces) changed.add(w, t);
}

async function applyPriceEvent(
  trx: Transaction<DB>,
  event: Extract<Handled, { type: 'ModelPriceSet' | 'ModelPriceDeleted' }>,
  changed: ChangedTraces,
): Promise<void> {
  const w = event.workspaceId;
  const before = await trx
    .selectFrom('model_prices')
    .select('model_pattern')
    .where('workspace_id', '=', w)
    .where('price_id', '=', event.data.priceId)
    .executeTakeFirst();
  const patterns = before ? [before.model_pattern] : [];
  if (event.type === 'ModelPriceSet') {
    const d = event.data;
    await trx
      .insertInto('model_prices')
      .values({
        workspace_id: w,
        price_id: d.priceId,
        model_pattern: d.modelPattern,
        provider: d.provider,
        input_per_million: d.inputPerMillion,
        output_per_million: d.outputPerMillion,
        cached_input_per_million: d.cachedInputPerMillion,
        effective_from: d.effectiveFrom,
      })
      .onConflict((oc) =>
        oc.columns(['workspace_id', 'price_id']).doUpdateSet((eb) => ({
          model_pattern: eb.ref('excluded.model_pattern'),
          provider: eb.ref('excluded.provider'),
          input_per_million: eb.ref('excluded.input_per_million'),
          output_per_million: eb.ref('excluded.output_per_million'),
          cached_input_per_million: eb.ref('excluded.cached_input_per_million'),
          effective_from: eb.ref('excluded.effective_from'),
        })),
      )
      .execute();
    patterns.push(d.modelPattern);
  } else {
    if (!before) return;
    await trx
      .deleteFrom('model_prices')
      .where('workspace_id', '=', w)
      .where('price_id', '=', event.data.priceId)
      .execute();
  }
  await reprice(trx, w, patterns, changed);
}

// ---------------------------------------------------------------------------------------------

async function notifyTraces(trx: Transaction<DB>, changed: ChangedTraces): Promise<void> {
  for (const [w, traces] of changed.byWorkspace) {
    const ids = new Map([...traces].map((t) => [t, 0]));
    for (const payload of encodeChangeNotices(TRACES_CHANGED_NOTICE, w, ids)) {
      await sql`SELECT pg_notify(${CHANGES_CHANNEL}, ${payload})`.execute(trx);
    }
  }
}

/**
 * LLM tracing (docs/tracing.md, "Read models"). Spans of a batch are applied first, all together
 * (their effect does not depend on their order relative to the other events: deleted traces
 * ignore spans whenever they come, prices re-price what is stored), then people's changes and
 * price changes in order.
 */
export const tracesProjection: Projection = {
  name: 'traces',
  version: 1,
  handles,
  tables: ['trace_spans', 'traces', 'trace_tags', 'trace_metadata', 'model_prices'],
  async apply(trx, events) {
    const changed = new ChangedTraces();
    const handled = events as readonly Handled[];
    await applySpans(
      trx,
      handled.filter((e): e is SpansIngested => e.type === 'SpansIngested'),
      changed,
    );
    for (const event of handled) {
      const w = event.workspaceId;
      switch (event.type) {
        case 'SpansIngested':
          break;
        case 'TraceTagSet':
          await setUserKeyValue(
            trx,
            'trace_tags',
            w,
            event.data.traceId,
            event.data.key,
            event.data.value,
          );
          changed.add(w, event.data.traceId);
          break;
        case 'TraceTagDeleted':
          await setUserKeyValue(trx, 'trace_tags', w, event.data.traceId, event.data.key, null);
          changed.add(w, event.data.traceId);
          break;
        case 'TraceMetadataSet':
          await setUserKeyValue(
            trx,
            'trace_metadata',
            w,
            event.data.traceId,
            event.data.key,
            event.data.value,
          );
          changed.add(w, event.data.traceId);
          break;
        case 'TraceMetadataDeleted':
          await setUserKeyValue(trx, 'trace_metadata', w, event.data.traceId, event.data.key, null);
          changed.add(w, event.data.traceId);
          break;
        case 'TraceDeleted':
          await deleteTrace(trx, w, event.data.traceId);
          changed.add(w, event.data.traceId);
          break;
        case 'ModelPriceSet':
        case 'ModelPriceDeleted':
          await applyPriceEvent(trx, event, changed);
          break;
        case 'TracesPurged':
          await purgeTraces(trx, w, event.data.traceIds);
          for (const t of event.data.traceIds) changed.add(w, t);
          break;
        default:
          assertNever(event);
      }
    }
    await notifyTraces(trx, changed);
  },
};
