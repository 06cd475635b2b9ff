import { sql, type Kysely } from 'kysely';
import type { DB } from '@cairn/db';
import { CairnError, invalidArgument } from '../errors.ts';
import { isLoggedModelId, LOGGED_MODEL_TAG_PREFIX } from '../mlflow/logged-model-store.ts';

/**
 * The lineage graph (docs/governance.md, "Lineage"), walked over the read models:
 *
 *   dataset → run → logged model → model version → deployment → trace
 *                                  model version → trace      prompt version → trace
 *   run → trace (traced in the run)   evaluation dataset → evaluation run → trace
 *   logged model → evaluation run
 *
 * Every hop is one bounded query per kind of node in the frontier (LIMIT = the nodes still
 * allowed + 1), always with the workspace. Edges point downstream (from the input to what was
 * made from it); UPSTREAM walks them backwards, DOWNSTREAM forwards, BOTH does both walks from
 * the centre (never zig-zags: the traces of a model version's other deployments are not
 * "upstream" of a trace).
 */

export const LINEAGE_KINDS = [
  'DATASET',
  'RUN',
  'LOGGED_MODEL',
  'MODEL_VERSION',
  'DEPLOYMENT',
  'TRACE',
  'EVALUATION_RUN',
  'PROMPT_VERSION',
] as const;
export type LineageKind = (typeof LINEAGE_KINDS)[number];
export type LineageDirection = 'UPSTREAM' | 'DOWNSTREAM' | 'BOTH';

export const LINEAGE_DEFAULT_DEPTH = 3;
export const LINEAGE_MAX_DEPTH = 6;
export const LINEAGE_DEFAULT_MAX_NODES = 200;
export const LINEAGE_MAX_NODES = 500;

export interface LineageRefInput {
  kind: LineageKind;
  /** RUN, LOGGED_MODEL, TRACE, EVALUATION_RUN, DEPLOYMENT: the id; DATASET: an evaluation dataset id. */
  id?: string | null;
  /** DATASET (with digest), MODEL_VERSION and PROMPT_VERSION (with version), DEPLOYMENT. */
  name?: string | null;
  version?: number | null;
  digest?: string | null;
}

/** A node of the graph; `key` is its graph id, the other fields identify (and link) the object. */
export interface LineageNode {
  key: string;
  kind: LineageKind;
  label: string;
  /** The object's id: run id, logged model id, deployment id, trace id, evaluation dataset id. */
  refId: string | null;
  name: string | null;
  version: number | null;
  digest: string | null;
  /** MODEL_VERSION: the registered model's id. */
  modelId: string | null;
}

export interface LineageEdge {
  from: string;
  to: string;
  relation: string;
  /** DATASET → RUN: the context the run used it in ("training", …). */
  context: string | null;
}

export interface LineageGraph {
  centre: string;
  nodes: LineageNode[];
  edges: LineageEdge[];
  truncated: boolean;
  depth: number;
}

function node(kind: LineageKind, parts: Partial<Omit<LineageNode, 'kind' | 'key'>>): LineageNode {
  const n: LineageNode = {
    key: '',
    kind,
    label: parts.label ?? '',
    refId: parts.refId ?? null,
    name: parts.name ?? null,
    version: parts.version ?? null,
    digest: parts.digest ?? null,
    modelId: parts.modelId ?? null,
  };
  n.key = nodeKey(n);
  if (n.label === '') n.label = defaultLabel(n);
  return n;
}

function nodeKey(n: Pick<LineageNode, 'kind' | 'refId' | 'name' | 'version' | 'digest'>): string {
  switch (n.kind) {
    case 'DATASET':
      return n.refId !== null
        ? `DATASET:evaluation:${n.refId}`
        : `DATASET:${JSON.stringify([n.name, n.digest])}`;
    case 'MODEL_VERSION':
    case 'PROMPT_VERSION':
      return `${n.kind}:${n.name}/${n.version}`;
    case 'RUN':
    case 'LOGGED_MODEL':
    case 'DEPLOYMENT':
    case 'TRACE':
    case 'EVALUATION_RUN':
      return `${n.kind}:${n.refId}`;
  }
}

function defaultLabel(n: LineageNode): string {
  switch (n.kind) {
    case 'DATASET':
      return n.name ?? n.refId ?? '';
    case 'MODEL_VERSION':
    case 'PROMPT_VERSION':
      return `${n.name} v${n.version}`;
    default:
      return n.name ?? n.refId ?? '';
  }
}

const runNode = (runId: string, name?: string) => node('RUN', { refId: runId, name: name ?? null });
const traceNode = (traceId: string, name?: string | null) =>
  node('TRACE', { refId: traceId, label: name || traceId });
const loggedModelNode = (id: string) => node('LOGGED_MODEL', { refId: id });
const evaluationRunNode = (runId: string) => node('EVALUATION_RUN', { refId: runId });

/** `name/version` (a trace's `model_version`, from `cairn.trace.model_version`). */
function parseModelVersion(value: string): { name: string; version: number } | null {
  const m = /^(?:models:\/)?(.+)\/(\d+)$/u.exec(value);
  return m ? { name: m[1]!, version: Number(m[2]) } : null;
}
/** `prompts:/name/version`, as traces name their prompt versions. */
function parsePromptVersion(value: string): { name: string; version: number } | null {
  const m = /^prompts:\/(.+)\/(\d+)$/u.exec(value);
  return m ? { name: m[1]!, version: Number(m[2]) } : null;
}
const LOGGED_MODEL_SOURCE = /^models:\/(m-[0-9a-f]{40})\/?$/u;
function loggedModelOfSource(source: string): string | null {
  const id = LOGGED_MODEL_SOURCE.exec(source)?.[1];
  return id !== undefined && isLoggedModelId(id) ? id : null;
}

const DEPLOYMENT_ATTRIBUTE = 'cairn.deployment.name';

interface Hop {
  from: LineageNode;
  to: LineageNode;
  relation: string;
  context?: string | null;
}

type Db = Kysely<DB>;

const ids = (nodes: readonly LineageNode[]) => nodes.map((n) => n.refId!);
const named = (nodes: readonly LineageNode[]) =>
  nodes.map((n) => ({ name: n.name!, version: n.version! }));
/** `(a, b) IN ((…), (…))` for (name, version) pairs, bound as values. */
function pairsIn(a: string, b: string, pairs: { name: string; version: number }[]) {
  return sql<boolean>`(${sql.ref(a)}, ${sql.ref(b)}) IN (${sql.join(
    pairs.map((p) => sql`(${p.name}, ${p.version}::int4)`),
  )})`;
}

/** The hops upstream of `nodes` (all of one kind): edges whose `to` is one of them. */
async function upstream(
  db: Db,
  ws: string,
  kind: LineageKind,
  nodes: LineageNode[],
  limit: number,
): Promise<Hop[]> {
  const byKey = new Map(nodes.map((n) => [n.key, n]));
  const at = (k: string) => byKey.get(k)!;
  switch (kind) {
    case 'DATASET':
    case 'PROMPT_VERSION':
      return [];
    case 'RUN': {
      const rows = await db
        .selectFrom('run_dataset_inputs')
        .select(['run_id', 'name', 'digest', 'context'])
        .where('workspace_id', '=', ws)
        .where('run_id', 'in', ids(nodes))
        .orderBy('run_id')
        .orderBy('ordinal')
        .limit(limit)
        .execute();
      return rows.map((r) => ({
        from: node('DATASET', { name: r.name, digest: r.digest }),
        to: at(runNode(r.run_id).key),
        relation: 'INPUT_OF',
        context: r.context === '' ? null : r.context,
      }));
    }
    case 'LOGGED_MODEL': {
      const byRun = new Map(nodes.map((n) => [n.refId!.slice(2, 34), n]));
      const rows = await db
        .selectFrom('runs')
        .select(['run_id', 'name'])
        .where('workspace_id', '=', ws)
        .where('run_id', 'in', [...byRun.keys()])
        .limit(limit)
        .execute();
      return rows.map((r) => ({
        from: runNode(r.run_id, r.name),
        to: byRun.get(r.run_id)!,
        relation: 'LOGGED',
      }));
    }
    case 'MODEL_VERSION': {
      const rows = await db
        .selectFrom('model_versions')
        .select(['model_name', 'version', 'source', 'run_id'])
        .where('workspace_id', '=', ws)
        .where(pairsIn('model_name', 'version', named(nodes)))
        .limit(limit)
        .execute();
      const hops: Hop[] = [];
      for (const r of rows) {
        const to = at(node('MODEL_VERSION', { name: r.model_name, version: r.version }).key);
        const logged = loggedModelOfSource(r.source);
        if (logged !== null)
          hops.push({ from: loggedModelNode(logged), to, relation: 'REGISTERED_AS' });
        else if (r.run_id !== null)
          hops.push({ from: runNode(r.run_id), to, relation: 'REGISTERED_AS' });
      }
      return hops;
    }
    case 'DEPLOYMENT': {
      const rows = await db
        .selectFrom('deployment_variants as v')
        .innerJoin('registered_models as m', (j) =>
          j.onRef('m.workspace_id', '=', 'v.workspace_id').onRef('m.model_id', '=', 'v.model_id'),
        )
        .select(['v.deployment_id', 'v.name as variant', 'm.name as model_name', 'm.model_id'])
        .select('v.served_version')
        .where('v.workspace_id', '=', ws)
        .where('v.deployment_id', 'in', ids(nodes))
        .orderBy('v.deployment_id')
        .orderBy('v.ordinal')
        .limit(limit)
        .execute();
      return rows.map((r) => ({
        from: node('MODEL_VERSION', {
          name: r.model_name,
          version: r.served_version,
          modelId: r.model_id,
        }),
        to: at(node('DEPLOYMENT', { refId: r.deployment_id }).key),
        relation: 'DEPLOYED_AS',
        context: r.variant,
      }));
    }
    case 'TRACE': {
      const traceIds = ids(nodes);
      const to = (id: string) => at(traceNode(id).key);
      const [traces, spans, rows] = await Promise.all([
        db
          .selectFrom('traces')
          .select(['trace_id', 'run_id', 'model_version', 'prompt_versions'])
          .where('workspace_id', '=', ws)
          .where('trace_id', 'in', traceIds)
          .execute(),
        db
          .selectFrom('trace_spans as s')
          .innerJoin('deployments as d', (j) =>
            j
              .onRef('d.workspace_id', '=', 's.workspace_id')
              .on('d.name', '=', sql<string>`s.attributes->>${DEPLOYMENT_ATTRIBUTE}`),
          )
          .select(['s.trace_id', 'd.deployment_id', 'd.name'])
          .distinct()
          .where('s.workspace_id', '=', ws)
          .where('s.trace_id', 'in', traceIds)
          .where(sql<boolean>`s.attributes ? ${DEPLOYMENT_ATTRIBUTE}`)
          .limit(limit)
          .execute(),
        db
          .selectFrom('evaluation_rows')
          .select(['run_id', 'trace_id'])
          .distinct()
          .where('workspace_id', '=', ws)
          .where('trace_id', 'in', traceIds)
          .limit(limit)
          .execute(),
      ]);
      const hops: Hop[] = [];
      for (const t of traces) {
        const mv = t.model_version === null ? null : parseModelVersion(t.model_version);
        if (mv)
          hops.push({ from: node('MODEL_VERSION', mv), to: to(t.trace_id), relation: 'PRODUCED' });
        if (t.run_id !== null)
          hops.push({ from: runNode(t.run_id), to: to(t.trace_id), relation: 'TRACED_IN' });
        for (const uri of t.prompt_versions) {
          const pv = parsePromptVersion(uri);
          if (pv)
            hops.push({
              from: node('PROMPT_VERSION', pv),
              to: to(t.trace_id),
              relation: 'USED_BY',
            });
        }
      }
      for (const s of spans) {
        hops.push({
          from: node('DEPLOYMENT', { refId: s.deployment_id, name: s.name }),
          to: to(s.trace_id),
          relation: 'SERVED',
        });
      }
      for (const r of rows)
        hops.push({ from: evaluationRunNode(r.run_id), to: to(r.trace_id), relation: 'EVALUATED' });
      return hops.slice(0, limit);
    }
    case 'EVALUATION_RUN': {
      const rows = await db
        .selectFrom('evaluation_runs as e')
        .leftJoin('evaluation_datasets as d', (j) =>
          j
            .onRef('d.workspace_id', '=', 'e.workspace_id')
            .onRef('d.dataset_id', '=', 'e.dataset_id'),
        )
        .select(['e.run_id', 'e.dataset_id', 'e.model_id', 'd.name as dataset_name'])
        .where('e.workspace_id', '=', ws)
        .where('e.run_id', 'in', ids(nodes))
        .limit(limit)
        .execute();
      const hops: Hop[] = [];
      for (const r of rows) {
        const to = at(evaluationRunNode(r.run_id).key);
        if (r.dataset_id !== null)
          hops.push({
            from: node('DATASET', { refId: r.dataset_id, name: r.dataset_name ?? r.dataset_id }),
            to,
            relation: 'EVALUATED_ON',
          });
        if (r.model_id !== null && isLoggedModelId(r.model_id))
          hops.push({ from: loggedModelNode(r.model_id), to, relation: 'EVALUATED' });
      }
      return hops;
    }
  }
}

/** The hops downstream of `nodes` (all of one kind): edges whose `from` is one of them. */
async function downstream(
  db: Db,
  ws: string,
  kind: LineageKind,
  nodes: LineageNode[],
  limit: number,
): Promise<Hop[]> {
  const byKey = new Map(nodes.map((n) => [n.key, n]));
  const at = (k: string) => byKey.get(k)!;
  switch (kind) {
    case 'DATASET': {
      const inputs = nodes.filter((n) => n.refId === null);
      const evaluation = nodes.filter((n) => n.refId !== null);
      const hops: Hop[] = [];
      if (inputs.length > 0) {
        const rows = await db
          .selectFrom('run_dataset_inputs as i')
          .innerJoin('runs as r', (j) =>
            j.onRef('r.workspace_id', '=', 'i.workspace_id').onRef('r.run_id', '=', 'i.run_id'),
          )
          .select(['i.run_id', 'i.name', 'i.digest', 'i.context', 'r.name as run_name'])
          .where('i.workspace_id', '=', ws)
          .where(
            sql<boolean>`(i.name, i.digest) IN (${sql.join(inputs.map((n) => sql`(${n.name}, ${n.digest})`))})`,
          )
          .orderBy('i.logged_at')
          .limit(limit)
          .execute();
        for (const r of rows)
          hops.push({
            from: at(node('DATASET', { name: r.name, digest: r.digest }).key),
            to: runNode(r.run_id, r.run_name),
            relation: 'INPUT_OF',
            context: r.context === '' ? null : r.context,
          });
      }
      if (evaluation.length > 0) {
        const rows = await db
          .selectFrom('evaluation_runs')
          .select(['run_id', 'dataset_id'])
          .where('workspace_id', '=', ws)
          .where('dataset_id', 'in', ids(evaluation))
          .limit(limit)
          .execute();
        for (const r of rows)
          hops.push({
            from: at(node('DATASET', { refId: r.dataset_id! }).key),
            to: evaluationRunNode(r.run_id),
            relation: 'EVALUATED_ON',
          });
      }
      return hops;
    }
    case 'RUN': {
      const runIds = ids(nodes);
      const from = (id: string) => at(runNode(id).key);
      const [tags, versions, traces] = await Promise.all([
        db
          .selectFrom('run_tags')
          .select(['run_id', 'key'])
          .where('workspace_id', '=', ws)
          .where('run_id', 'in', runIds)
          .where('key', 'like', `${LOGGED_MODEL_TAG_PREFIX.replaceAll('_', '\\_')}%.0`)
          .limit(limit)
          .execute(),
        db
          .selectFrom('model_versions')
          .select(['run_id', 'model_name', 'version', 'model_id', 'source'])
          .where('workspace_id', '=', ws)
          .where('run_id', 'in', runIds)
          .orderBy('created_at')
          .limit(limit)
          .execute(),
        db
          .selectFrom('traces')
          .select(['run_id', 'trace_id', 'name'])
          .where('workspace_id', '=', ws)
          .where('run_id', 'in', runIds)
          .where('deleted', '=', false)
          .orderBy('start_time', 'desc')
          .limit(limit)
          .execute(),
      ]);
      const hops: Hop[] = [];
      for (const t of tags) {
        const id = t.key.slice(LOGGED_MODEL_TAG_PREFIX.length, -2);
        if (isLoggedModelId(id))
          hops.push({ from: from(t.run_id), to: loggedModelNode(id), relation: 'LOGGED' });
      }
      for (const v of versions) {
        // A version of a logged model hangs off the logged model, not the run.
        if (loggedModelOfSource(v.source) !== null) continue;
        hops.push({
          from: from(v.run_id!),
          to: node('MODEL_VERSION', {
            name: v.model_name,
            version: v.version,
            modelId: v.model_id,
          }),
          relation: 'REGISTERED_AS',
        });
      }
      for (const t of traces)
        hops.push({
          from: from(t.run_id!),
          to: traceNode(t.trace_id, t.name),
          relation: 'TRACED_IN',
        });
      return hops.slice(0, limit);
    }
    case 'LOGGED_MODEL': {
      const modelIds = ids(nodes);
      const [versions, evaluations] = await Promise.all([
        db
          .selectFrom('model_versions')
          .select(['model_name', 'version', 'model_id', 'source'])
          .where('workspace_id', '=', ws)
          .where(
            'source',
            'in',
            modelIds.flatMap((id) => [`models:/${id}`, `models:/${id}/`]),
          )
          .limit(limit)
          .execute(),
        db
          .selectFrom('evaluation_runs')
          .select(['run_id', 'model_id'])
          .where('workspace_id', '=', ws)
          .where('model_id', 'in', modelIds)
          .limit(limit)
          .execute(),
      ]);
      const hops: Hop[] = [];
      for (const v of versions)
        hops.push({
          from: at(loggedModelNode(loggedModelOfSource(v.source)!).key),
          to: node('MODEL_VERSION', {
            name: v.model_name,
            version: v.version,
            modelId: v.model_id,
          }),
          relation: 'REGISTERED_AS',
        });
      for (const e of evaluations)
        hops.push({
          from: at(loggedModelNode(e.model_id!).key),
          to: evaluationRunNode(e.run_id),
          relation: 'EVALUATED',
        });
      return hops;
    }
    case 'MODEL_VERSION': {
      const pairs = named(nodes);
      const from = (name: string, version: number) =>
        at(node('MODEL_VERSION', { name, version }).key);
      const [deployments, traces] = await Promise.all([
        db
          .selectFrom('deployment_variants as v')
          .innerJoin('registered_models as m', (j) =>
            j.onRef('m.workspace_id', '=', 'v.workspace_id').onRef('m.model_id', '=', 'v.model_id'),
          )
          .innerJoin('deployments as d', (j) =>
            j
              .onRef('d.workspace_id', '=', 'v.workspace_id')
              .onRef('d.deployment_id', '=', 'v.deployment_id'),
          )
          .select(['d.deployment_id', 'd.name', 'v.name as variant', 'm.name as model_name'])
          .select('v.served_version')
          .where('v.workspace_id', '=', ws)
          .where(pairsIn('m.name', 'v.served_version', pairs))
          .limit(limit)
          .execute(),
        db
          .selectFrom('traces')
          .select(['model_version', 'trace_id', 'name'])
          .where('workspace_id', '=', ws)
          .where(
            'model_version',
            'in',
            pairs.map((p) => `${p.name}/${p.version}`),
          )
          .where('deleted', '=', false)
          .orderBy('start_time', 'desc')
          .limit(limit)
          .execute(),
      ]);
      const hops: Hop[] = [];
      for (const d of deployments)
        hops.push({
          from: from(d.model_name, d.served_version),
          to: node('DEPLOYMENT', { refId: d.deployment_id, name: d.name }),
          relation: 'DEPLOYED_AS',
          context: d.variant,
        });
      for (const t of traces) {
        const mv = parseModelVersion(t.model_version!)!;
        hops.push({
          from: from(mv.name, mv.version),
          to: traceNode(t.trace_id, t.name),
          relation: 'PRODUCED',
        });
      }
      return hops;
    }
    case 'DEPLOYMENT': {
      const hops: Hop[] = [];
      for (const d of nodes) {
        if (hops.length >= limit) break;
        const rows = await db
          .selectFrom('trace_spans as s')
          .innerJoin('traces as t', (j) =>
            j.onRef('t.workspace_id', '=', 's.workspace_id').onRef('t.trace_id', '=', 's.trace_id'),
          )
          .select(['t.trace_id', 't.name'])
          .distinct()
          .where('s.workspace_id', '=', ws)
          .where(
            sql<boolean>`s.attributes @> ${JSON.stringify({ [DEPLOYMENT_ATTRIBUTE]: d.name })}::jsonb`,
          )
          .where('t.deleted', '=', false)
          .limit(limit - hops.length)
          .execute();
        for (const t of rows)
          hops.push({ from: d, to: traceNode(t.trace_id, t.name), relation: 'SERVED' });
      }
      return hops;
    }
    case 'EVALUATION_RUN': {
      const rows = await db
        .selectFrom('evaluation_rows')
        .select(['run_id', 'trace_id'])
        .distinct()
        .where('workspace_id', '=', ws)
        .where('run_id', 'in', ids(nodes))
        .limit(limit)
        .execute();
      return rows.map((r) => ({
        from: at(evaluationRunNode(r.run_id).key),
        to: traceNode(r.trace_id),
        relation: 'EVALUATED',
      }));
    }
    case 'PROMPT_VERSION': {
      const uris = named(nodes).map((p) => `prompts:/${p.name}/${p.version}`);
      const rows = await db
        .selectFrom('traces')
        .select(['trace_id', 'name', 'prompt_versions'])
        .where('workspace_id', '=', ws)
        .where('deleted', '=', false)
        .where(
          sql<boolean>`(${sql.join(
            uris.map((u) => sql`prompt_versions @> ${JSON.stringify([u])}::jsonb`),
            sql` OR `,
          )})`,
        )
        .orderBy('start_time', 'desc')
        .limit(limit)
        .execute();
      const hops: Hop[] = [];
      for (const t of rows)
        for (const uri of t.prompt_versions) {
          const pv = parsePromptVersion(uri);
          if (pv && uris.includes(uri))
            hops.push({
              from: at(node('PROMPT_VERSION', pv).key),
              to: traceNode(t.trace_id, t.name),
              relation: 'USED_BY',
            });
        }
      return hops;
    }
    case 'TRACE':
      return [];
  }
}

/** The node a ref names, read from its read model: NOT_FOUND when it does not exist. */
export async function resolveRef(db: Db, ws: string, ref: LineageRefInput): Promise<LineageNode> {
  const need = <T>(value: T | null | undefined, field: string): T => {
    if (value === null || value === undefined || value === '')
      throw invalidArgument(`A ${ref.kind} ref needs ${field}`, { field });
    return value;
  };
  const missing = () =>
    new CairnError('NOT_FOUND', `No ${ref.kind} matches the ref`, { kind: ref.kind });
  switch (ref.kind) {
    case 'DATASET': {
      if (ref.id) {
        const d = await db
          .selectFrom('evaluation_datasets')
          .select(['dataset_id', 'name'])
          .where('workspace_id', '=', ws)
          .where('dataset_id', '=', ref.id)
          .executeTakeFirst();
        if (!d) throw missing();
        return node('DATASET', { refId: d.dataset_id, name: d.name });
      }
      const name = need(ref.name, 'name');
      const digest = need(ref.digest, 'digest');
      const d = await db
        .selectFrom('run_dataset_inputs')
        .select('name')
        .where('workspace_id', '=', ws)
        .where('name', '=', name)
        .where('digest', '=', digest)
        .limit(1)
        .executeTakeFirst();
      if (!d) throw missing();
      return node('DATASET', { name, digest });
    }
    case 'RUN': {
      const r = await db
        .selectFrom('runs')
        .select(['run_id', 'name'])
        .where('workspace_id', '=', ws)
        .where('run_id', '=', need(ref.id, 'id'))
        .executeTakeFirst();
      if (!r) throw missing();
      return runNode(r.run_id, r.name);
    }
    case 'LOGGED_MODEL': {
      const id = need(ref.id, 'id');
      if (!isLoggedModelId(id)) throw missing();
      const t = await db
        .selectFrom('run_tags')
        .select('run_id')
        .where('workspace_id', '=', ws)
        .where('run_id', '=', id.slice(2, 34))
        .where('key', '=', `${LOGGED_MODEL_TAG_PREFIX}${id}.0`)
        .executeTakeFirst();
      if (!t) throw missing();
      return loggedModelNode(id);
    }
    case 'MODEL_VERSION': {
      const v = await db
        .selectFrom('model_versions')
        .select(['model_name', 'version', 'model_id'])
        .where('workspace_id', '=', ws)
        .where('model_name', '=', need(ref.name, 'name'))
        .where('version', '=', need(ref.version, 'version'))
        .executeTakeFirst();
      if (!v) throw missing();
      return node('MODEL_VERSION', { name: v.model_name, version: v.version, modelId: v.model_id });
    }
    case 'DEPLOYMENT': {
      let q = db
        .selectFrom('deployments')
        .select(['deployment_id', 'name'])
        .where('workspace_id', '=', ws);
      q = ref.id
        ? q.where('deployment_id', '=', ref.id)
        : q.where('name', '=', need(ref.name, 'id or name'));
      const d = await q.executeTakeFirst();
      if (!d) throw missing();
      return node('DEPLOYMENT', { refId: d.deployment_id, name: d.name });
    }
    case 'TRACE': {
      const t = await db
        .selectFrom('traces')
        .select(['trace_id', 'name'])
        .where('workspace_id', '=', ws)
        .where('trace_id', '=', need(ref.id, 'id'))
        .where('deleted', '=', false)
        .executeTakeFirst();
      if (!t) throw missing();
      return traceNode(t.trace_id, t.name);
    }
    case 'EVALUATION_RUN': {
      const e = await db
        .selectFrom('evaluation_runs')
        .select('run_id')
        .where('workspace_id', '=', ws)
        .where('run_id', '=', need(ref.id, 'id'))
        .executeTakeFirst();
      if (!e) throw missing();
      return evaluationRunNode(e.run_id);
    }
    case 'PROMPT_VERSION': {
      const p = await db
        .selectFrom('prompt_versions')
        .select(['prompt_name', 'version'])
        .where('workspace_id', '=', ws)
        .where('prompt_name', '=', need(ref.name, 'name'))
        .where('version', '=', need(ref.version, 'version'))
        .executeTakeFirst();
      if (!p) throw missing();
      return node('PROMPT_VERSION', { name: p.prompt_name, version: p.version });
    }
  }
}

export interface LineageOptions {
  direction: LineageDirection;
  depth: number;
  maxNodes: number;
  /** Kinds the caller may read; nodes of other kinds are neither shown nor walked through. */
  readable: ReadonlySet<LineageKind>;
}

export function checkLineageOptions(depth: number | null, maxNodes: number | null) {
  const d = depth ?? LINEAGE_DEFAULT_DEPTH;
  if (!Number.isInteger(d) || d < 1 || d > LINEAGE_MAX_DEPTH)
    throw invalidArgument(`depth must be between 1 and ${LINEAGE_MAX_DEPTH}, got ${d}`, {
      argument: 'depth',
    });
  const m = maxNodes ?? LINEAGE_DEFAULT_MAX_NODES;
  if (!Number.isInteger(m) || m < 1 || m > LINEAGE_MAX_NODES)
    throw invalidArgument(`maxNodes must be between 1 and ${LINEAGE_MAX_NODES}, got ${m}`, {
      argument: 'maxNodes',
    });
  return { depth: d, maxNodes: m };
}

/** Walks the graph from `ref` (breadth first, `depth` hops, at most `maxNodes` nodes). */
export async function lineage(
  db: Db,
  ws: string,
  ref: LineageRefInput,
  opts: LineageOptions,
): Promise<LineageGraph> {
  const centre = await resolveRef(db, ws, ref);
  const nodes = new Map<string, LineageNode>([[centre.key, centre]]);
  const edges = new Map<string, LineageEdge>();
  let truncated = false;
  const walks: ('up' | 'down')[] =
    opts.direction === 'BOTH' ? ['up', 'down'] : opts.direction === 'UPSTREAM' ? ['up'] : ['down'];
  for (const walk of walks) {
    let frontier = [centre];
    const seen = new Set([centre.key]);
    for (let d = 0; d < opts.depth && frontier.length > 0 && !truncated; d++) {
      const byKind = new Map<LineageKind, LineageNode[]>();
      for (const n of frontier) byKind.set(n.kind, [...(byKind.get(n.kind) ?? []), n]);
      const next: LineageNode[] = [];
      for (const [kind, group] of byKind) {
        const limit = opts.maxNodes - nodes.size + 1;
        const hops = await (walk === 'up' ? upstream : downstream)(db, ws, kind, group, limit);
        for (const hop of hops) {
          const other = walk === 'up' ? hop.from : hop.to;
          if (!opts.readable.has(other.kind)) continue;
          if (!nodes.has(other.key)) {
            if (nodes.size >= opts.maxNodes) {
              truncated = true;
              break;
            }
            nodes.set(other.key, other);
          } else if (nodes.get(other.key)!.label === other.refId && other.label !== other.refId) {
            nodes.set(other.key, other); // a better label
          }
          const edgeKey = `${hop.from.key}\u0000${hop.to.key}\u0000${hop.relation}`;
          edges.set(edgeKey, {
            from: hop.from.key,
            to: hop.to.key,
            relation: hop.relation,
            context: hop.context ?? null,
          });
          if (!seen.has(other.key)) {
            seen.add(other.key);
            next.push(other);
          }
        }
        if (truncated) break;
      }
      frontier = next;
    }
  }
  await labelRuns(db, ws, [...nodes.values()]);
  return {
    centre: centre.key,
    nodes: [...nodes.values()],
    edges: [...edges.values()],
    truncated,
    depth: opts.depth,
  };
}

/** Run nodes found through another object carry only their id: one query names them all. */
async function labelRuns(db: Db, ws: string, all: LineageNode[]): Promise<void> {
  const unnamed = all.filter((n) => n.kind === 'RUN' && n.name === null);
  if (unnamed.length === 0) return;
  const rows = await db
    .selectFrom('runs')
    .select(['run_id', 'name'])
    .where('workspace_id', '=', ws)
    .where('run_id', 'in', ids(unnamed))
    .execute();
  const names = new Map(rows.map((r) => [r.run_id, r.name]));
  for (const n of unnamed) {
    const name = names.get(n.refId!);
    if (name !== undefined) {
      n.name = name;
      n.label = name;
    }
  }
}
