import { createHash } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type pg from 'pg';
import {
  compareLogPositions,
  loadLogCheckpoint,
  readAllAfter,
  type DB,
  type LogPosition,
} from '@cairn/db';
import {
  assessmentStreamId,
  decodeEvent,
  uuidv7,
  type EventOf,
  type StoredEventEnvelope,
} from '@cairn/events';
import { advanceCheckpoint } from '@cairn/read-models';
import type { Logger } from '@cairn/logging';
import { compileTraceFilter, parseTraceFilter, type TraceFilter } from '../tracing/trace-search.ts';
import type { Caller } from '../write/command-handler.ts';
import type { ServiceDeps } from '../write/services.ts';
import { logAssessments, type AssessmentInput } from './assessment.commands.ts';
import { getActiveRules, type EvaluationRuleRow } from './rules.queries.ts';
import type { JudgeClient } from './scorers/judge-client.ts';
import type { ScorerSpec, ScorerType } from './scorers/scorer-spec.ts';
import { runScorer, type ScoringInput } from './scorers/scorers.ts';

/**
 * The online evaluation consumer (docs/evaluation.md, "Online evaluation"). It follows the event
 * log for new spans (`SpansIngested`) with its own checkpoint (`log_checkpoints`, reader
 * `evaluation:online.v1`), read below the visibility boundary like every log reader. For each
 * batch of events it waits until the `traces` projection has applied them, then, per workspace,
 * matches every finished trace of the batch against the workspace's active rules (the trace
 * search SQL), samples it deterministically by hash(ruleId, traceId), runs the rule's scorers and
 * appends their results as FEEDBACK assessments with deterministic ids. The checkpoint moves only
 * after that: a crash re-reads the batch, and the deterministic ids make a second append of the
 * same (rule, trace, scorer) find its stream taken, so nothing is stored twice; scorers whose
 * assessment already exists are not run again.
 */

export const ONLINE_EVALUATION_READER = 'evaluation:online.v1';
/** Session advisory lock: one active consumer per database; others stand by. */
const ONLINE_EVALUATION_LOCK = 'cairn:evaluation:online';

export interface OnlineEvaluatorOptions {
  deps: ServiceDeps;
  logger: Logger;
  /** The judge endpoint; null: judge scorers store an error. */
  judge: JudgeClient | null;
  /** A dedicated connection for the standby lock (`handle.pool`); absent: no lock. */
  pool?: pg.Pool;
  /** Events read per round (default 100). */
  batchSize?: number;
  /** Traces scored at once (back-pressure; default 8). */
  maxInFlightTraces?: number;
  /** Sleep when the log has nothing new (default 250 ms; `wake()` cuts it short). */
  idleMs?: number;
  /** How long a round waits for the traces projection before it retries (default 5 s). */
  projectionWaitMs?: number;
}

/** 32 lowercase hex, uuid v5-style (version and variant bits set) from the four parts. */
export function onlineAssessmentId(
  workspaceId: string,
  ruleId: string,
  traceId: string,
  scorer: string,
): string {
  const hex = createHash('sha256')
    .update(`${workspaceId}\u0000${ruleId}\u0000${traceId}\u0000${scorer}`)
    .digest('hex')
    .slice(0, 32);
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 12)}5${hex.slice(13, 16)}${variant}${hex.slice(17)}`;
}

/** Deterministic sampling: the first 32 bits of sha256("<ruleId>:<traceId>") below rate × 2^32. */
export function sampled(ruleId: string, traceId: string, rate: number): boolean {
  if (rate >= 1) return true;
  if (rate <= 0) return false;
  const h = createHash('sha256').update(`${ruleId}:${traceId}`).digest().readUInt32BE(0);
  return h / 2 ** 32 < rate;
}

interface Candidate {
  workspaceId: string;
  traceId: string;
  /** When the spans arrived: rules created later do not score them. */
  recordedAt: number;
}

interface TraceFacts {
  trace_id: string;
  inputs: unknown;
  outputs: unknown;
  duration_ms: number | null;
  total_tokens: number;
}

export class OnlineEvaluator {
  private stopped = false;
  private loop: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
  private woken = false;
  private readonly abort = new AbortController();
  /** Resolves (false) on stop: a wait for the projection does not hold up a shutdown. */
  private readonly stopping = new Promise<false>((resolve) =>
    this.abort.signal.addEventListener('abort', () => resolve(false)),
  );
  private lockClient: pg.PoolClient | null = null;
  /** Parsed filters by rule id and filter text. */
  private readonly filters = new Map<string, TraceFilter | null | 'invalid'>();
  private lastSkip = 0;
  /** Traces scored (at least one assessment appended) since start: for tests and logs. */
  scoredTraces = 0;

  constructor(private readonly opts: OnlineEvaluatorOptions) {}

  private get db(): Kysely<DB> {
    return this.opts.deps.db;
  }

  start(): void {
    this.loop ??= this.run();
  }

  wake(): void {
    if (this.wakeUp) this.wakeUp();
    else this.woken = true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    this.wake();
    await this.loop;
    const client = this.lockClient;
    this.lockClient = null;
    if (client) {
      await client
        .query('SELECT pg_advisory_unlock(hashtext($1))', [ONLINE_EVALUATION_LOCK])
        .then(() => client.release())
        .catch(() => client.release(true));
    }
  }

  private pause(ms: number): Promise<void> {
    const woken = this.woken;
    this.woken = false;
    if (ms <= 0 || woken || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      let wait: number;
      try {
        wait = await this.step();
        failures = 0;
      } catch (error) {
        if (this.stopped) break;
        failures += 1;
        wait = Math.min(5000, 100 * 2 ** Math.min(failures, 6));
        this.opts.logger.error(`online evaluation: round failed, retrying in ${wait} ms`, error);
      }
      await this.pause(wait);
    }
  }

  private async holdLock(): Promise<boolean> {
    const pool = this.opts.pool;
    if (!pool) return true;
    if (this.lockClient) return true;
    const client = await pool.connect();
    try {
      const result = await client.query<{ locked: boolean }>(
        'SELECT pg_try_advisory_lock(hashtext($1)) AS locked',
        [ONLINE_EVALUATION_LOCK],
      );
      if (!result.rows[0]?.locked) {
        client.release();
        return false;
      }
    } catch (error) {
      client.release(true);
      throw error;
    }
    client.on('error', () => {
      if (this.lockClient === client) this.lockClient = null;
    });
    this.lockClient = client;
    this.opts.logger.info('online evaluation: active');
    return true;
  }

  /** One round; answers how long to sleep. */
  private async step(): Promise<number> {
    if (!(await this.holdLock())) return 2000;
    const idle = this.opts.idleMs ?? 250;
    const limit = this.opts.batchSize ?? 100;
    // Taken before the read: every transaction below it has ended (xmin never goes back).
    const { rows } = await sql<{
      xmin: string;
    }>`SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin`.execute(this.db);
    const boundary: LogPosition = { transactionId: rows[0]!.xmin, globalPosition: 0 };
    const checkpoint = await loadLogCheckpoint(this.db, ONLINE_EVALUATION_READER);
    const events = await readAllAfter(this.db, checkpoint, limit, { types: ['SpansIngested'] });
    if (events.length === 0) {
      // Nothing new of ours: move past the other events (metric batches, …) now and then, so
      // that each round does not scan them again (as the projections' log tailers do).
      const now = Date.now();
      if (compareLogPositions(boundary, checkpoint) > 0 && now - this.lastSkip >= 1000) {
        this.lastSkip = now;
        await advanceCheckpoint(this.db, ONLINE_EVALUATION_READER, boundary);
      }
      return idle;
    }
    const done = await this.process(events);
    if (done === 0 || this.stopped) return idle;
    const last = events[done - 1]!;
    let position: LogPosition = {
      transactionId: last.transactionId,
      globalPosition: last.globalPosition,
    };
    // A short batch, all done, held every span event below the boundary.
    if (
      done === events.length &&
      events.length < limit &&
      compareLogPositions(boundary, position) > 0
    )
      position = boundary;
    await advanceCheckpoint(this.db, ONLINE_EVALUATION_READER, position);
    return done < events.length ? idle : 0;
  }

  /**
   * Scores what the events bring, and answers how many of them (a prefix) are done: events the
   * traces projection has not applied yet within the wait, and everything after them, are left
   * for the next round.
   */
  private async process(events: readonly StoredEventEnvelope[]): Promise<number> {
    const workspaces = [...new Set(events.map((e) => e.workspaceId))];
    const rules = await getActiveRules(this.db, workspaces);
    if (rules.length === 0) return events.length;
    const rulesByWorkspace = new Map<string, EvaluationRuleRow[]>();
    for (const r of rules)
      rulesByWorkspace.set(r.workspace_id, [...(rulesByWorkspace.get(r.workspace_id) ?? []), r]);

    let done = 0;
    const candidates = new Map<string, Candidate>();
    const waitMs = this.opts.projectionWaitMs ?? 5000;
    for (const raw of events) {
      if (this.stopped) break;
      if (!rulesByWorkspace.has(raw.workspaceId)) {
        done++;
        continue;
      }
      const projected = await Promise.race([
        this.opts.deps.changes.waitFor(
          raw.workspaceId,
          raw.streamId,
          raw.streamPosition,
          ['traces'],
          waitMs,
        ),
        this.stopping,
      ]);
      if (!projected) break;
      const event = decodeEvent(raw) as EventOf<'SpansIngested'>;
      const recordedAt = Date.parse(event.recordedAt);
      for (const span of event.data.spans) {
        const key = `${event.workspaceId}|${span.traceId}`;
        const seen = candidates.get(key);
        if (!seen || seen.recordedAt < recordedAt)
          candidates.set(key, {
            workspaceId: event.workspaceId,
            traceId: span.traceId,
            recordedAt,
          });
      }
      done++;
    }
    if (this.stopped) return 0;
    const byWorkspace = new Map<string, Candidate[]>();
    for (const c of candidates.values())
      byWorkspace.set(c.workspaceId, [...(byWorkspace.get(c.workspaceId) ?? []), c]);
    for (const [workspaceId, list] of byWorkspace) {
      await this.scoreWorkspace(workspaceId, list, rulesByWorkspace.get(workspaceId) ?? []);
      if (this.stopped) return 0;
    }
    return done;
  }

  private filterOf(rule: EvaluationRuleRow): TraceFilter | null | 'invalid' {
    const key = `${rule.rule_id}|${rule.filter ?? ''}`;
    if (!this.filters.has(key)) {
      try {
        this.filters.set(key, parseTraceFilter(rule.filter));
      } catch (error) {
        this.opts.logger.error(`online evaluation: rule ${rule.rule_id} has a bad filter`, error);
        this.filters.set(key, 'invalid');
      }
    }
    return this.filters.get(key) ?? null;
  }

  /** The finished, visible traces among `traceIds` that match the rule's filter. */
  private async matching(
    workspaceId: string,
    traceIds: readonly string[],
    filter: TraceFilter | null,
  ): Promise<Set<string>> {
    const where = filter ? sql` AND ${compileTraceFilter(filter, workspaceId)}` : sql``;
    const { rows } = await sql<{ trace_id: string }>`SELECT t.trace_id FROM traces t
      WHERE t.workspace_id = ${workspaceId} AND NOT t.deleted
        AND t.trace_id IN (${sql.join(traceIds.map((id) => sql`${id}`))})
        AND t.root_span_id IS NOT NULL
        AND EXISTS (SELECT 1 FROM trace_spans s WHERE s.workspace_id = t.workspace_id
          AND s.trace_id = t.trace_id AND s.span_id = t.root_span_id AND s.end_ns IS NOT NULL)
        ${where}`.execute(this.db);
    return new Set(rows.map((r) => r.trace_id));
  }

  private async scoreWorkspace(
    workspaceId: string,
    candidates: readonly Candidate[],
    rules: readonly EvaluationRuleRow[],
  ): Promise<void> {
    // (rule, trace) pairs to score: sampled, after the rule was created, matching its filter.
    const work: { rule: EvaluationRuleRow; traceId: string }[] = [];
    for (const rule of rules) {
      const filter = this.filterOf(rule);
      if (filter === 'invalid') continue;
      const created = rule.created_at.getTime();
      const ids = candidates
        .filter(
          (c) => c.recordedAt >= created && sampled(rule.rule_id, c.traceId, rule.sampling_rate),
        )
        .map((c) => c.traceId);
      if (ids.length === 0) continue;
      const matched = await this.matching(workspaceId, ids, filter);
      for (const traceId of ids) if (matched.has(traceId)) work.push({ rule, traceId });
    }
    if (work.length === 0) return;
    const traceIds = [...new Set(work.map((w) => w.traceId))];
    const facts = await this.traceFacts(workspaceId, traceIds);
    const expectations = await this.expectations(workspaceId, traceIds);
    // Bounded in flight: a fixed pool of workers over the (rule, trace) list.
    let next = 0;
    const limit = Math.max(1, this.opts.maxInFlightTraces ?? 8);
    const worker = async () => {
      while (!this.stopped && next < work.length) {
        const item = work[next++]!;
        const trace = facts.get(item.traceId);
        if (!trace) continue;
        await this.scoreTrace(workspaceId, item.rule, {
          traceId: item.traceId,
          inputs: trace.inputs,
          outputs: trace.outputs,
          expectations: expectations.get(item.traceId) ?? {},
          durationMs: trace.duration_ms,
          totalTokens: trace.total_tokens,
        });
      }
    };
    await Promise.all(Array.from({ length: Math.min(limit, work.length) }, worker));
  }

  private async traceFacts(workspaceId: string, traceIds: readonly string[]) {
    const rows = await this.db
      .selectFrom('traces')
      .select(['trace_id', 'inputs', 'outputs', 'duration_ms', 'total_tokens'])
      .where('workspace_id', '=', workspaceId)
      .where('trace_id', 'in', [...traceIds])
      .execute();
    return new Map<string, TraceFacts>(rows.map((r) => [r.trace_id, r]));
  }

  /** EXPECTATION assessments of the traces, by name (the newest of a name wins). */
  private async expectations(workspaceId: string, traceIds: readonly string[]) {
    const rows = await this.db
      .selectFrom('assessments')
      .select(['trace_id', 'name', 'value'])
      .where('workspace_id', '=', workspaceId)
      .where('trace_id', 'in', [...traceIds])
      .where('kind', '=', 'EXPECTATION')
      .orderBy('created_at')
      .execute();
    const out = new Map<string, Record<string, unknown>>();
    for (const r of rows) out.set(r.trace_id, { ...out.get(r.trace_id), [r.name]: r.value });
    return out;
  }

  private async scoreTrace(
    workspaceId: string,
    rule: EvaluationRuleRow,
    input: ScoringInput,
  ): Promise<void> {
    const specs = rule.scorers as ScorerSpec[];
    const ids = specs.map((s) =>
      onlineAssessmentId(workspaceId, rule.rule_id, input.traceId, s.name),
    );
    // Already stored (a previous attempt before a crash): not scored again.
    const existing = await this.db
      .selectFrom('streams')
      .select('stream_id')
      .where('workspace_id', '=', workspaceId)
      .where('stream_id', 'in', ids.map(assessmentStreamId))
      .execute();
    const taken = new Set(existing.map((r) => r.stream_id));
    const todo = specs
      .map((spec, i) => ({ spec, id: ids[i]! }))
      .filter((x) => !taken.has(assessmentStreamId(x.id)));
    if (todo.length === 0) return;
    const results = await Promise.all(
      todo.map((x) => runScorer(x.spec, input, this.opts.judge, this.abort.signal)),
    );
    // Stopping mid-way: an aborted judge call is not a judge failure; store nothing of it.
    if (this.stopped) return;
    const inputs: AssessmentInput[] = results.map((r, i) => ({
      assessmentId: todo[i]!.id,
      kind: 'FEEDBACK',
      traceId: input.traceId,
      name: r.name,
      value: r.value,
      rationale: r.rationale,
      error: r.error,
      source: { type: r.sourceType, id: r.name },
      ruleId: rule.rule_id,
      metadata: { ...r.metadata, scorerType: todo[i]!.spec.type satisfies ScorerType },
    }));
    const caller: Caller = {
      workspaceId,
      metadata: { actor: 'system:online-evaluation', correlationId: uuidv7(), causationId: null },
    };
    const outcomes = await logAssessments(this.opts.deps, caller, inputs, {
      waitForReadModel: false,
    });
    for (const o of outcomes)
      if (o.status === 'failed')
        this.opts.logger.error(
          `online evaluation: rule ${rule.rule_id} could not store an assessment of trace ${input.traceId}`,
          o.error,
        );
    if (outcomes.some((o) => o.status === 'created')) this.scoredTraces++;
  }
}
