'use client';

import Link from 'next/link';
import { useState } from 'react';
import { ErrorMessage } from '../../components/error-message.tsx';
import { formatTimestamp } from '../../lib/format.ts';
import {
  SESSION_QUERY,
  type SessionResult,
  type SessionTrace,
} from '../../lib/graphql/tracing-documents.ts';
import { useQueryState } from '../../lib/hooks.ts';
import {
  extractMessages,
  formatCost,
  formatCount,
  formatLatency,
  formatTokenUsage,
  newTurnMessages,
  quoteFilterValue,
  totalTokens,
  type ChatMessage,
} from '../../lib/tracing.ts';
import { Conversation, PayloadView } from './json-view.tsx';
import { TraceStatusBadge, TracingNav, traceHref } from './tracing-nav.tsx';
import { useLiveTraceQuery } from './use-live-query.ts';

const TRACES = 200;

/** `/session?id=…`: one session's traces in order, each as the conversation of its root span. */
export function SessionPage() {
  const [query] = useQueryState();
  const id = query.get('id') ?? '';
  const live = useLiveTraceQuery<SessionResult>(
    SESSION_QUERY,
    { id, first: TRACES },
    `session = ${quoteFilterValue(id)}`,
    { enabled: id !== '' },
  );
  const session = live.data?.session ?? null;
  if (!id)
    return (
      <>
        <h1>Session</h1>
        <TracingNav current="sessions" />
        <p>
          No session given. Open one from the <Link href="/sessions">sessions list</Link>.
        </p>
      </>
    );
  if (live.error && !live.data) return <ErrorMessage error={live.error} />;
  if (!live.data) return <p className="page-loading">Loading…</p>;
  if (!session)
    return (
      <>
        <h1>Session not found</h1>
        <TracingNav current="sessions" />
        <p>
          No session <span className="mono">{id}</span> in this workspace.{' '}
          <Link href="/sessions">All sessions</Link>
        </p>
      </>
    );
  const traces = session.traces.edges.map((e) => e.node);
  return (
    <>
      <nav className="breadcrumb" aria-label="Breadcrumb">
        <Link href="/sessions">Sessions</Link>
        <span aria-hidden="true">/</span>
      </nav>
      <h1 className="mono">{session.id}</h1>
      <TracingNav current="sessions" />
      <div className="cards">
        <div className="card">
          <div className="label">User</div>
          <div className="value">{session.userId ?? '—'}</div>
        </div>
        <div className="card">
          <div className="label">Traces</div>
          <div className="value">{session.traceCount}</div>
        </div>
        <div className="card">
          <div className="label">First</div>
          <div className="value">{formatTimestamp(session.firstTraceAt)}</div>
        </div>
        <div className="card">
          <div className="label">Last</div>
          <div className="value">{formatTimestamp(session.lastTraceAt)}</div>
        </div>
        <div className="card">
          <div className="label">Tokens (in · out · total)</div>
          <div className="value">{formatTokenUsage(session.tokenUsage)}</div>
        </div>
        <div className="card">
          <div className="label">Cost</div>
          <div className="value">{formatCost(session.cost)}</div>
        </div>
      </div>
      <h2>Conversation</h2>
      <ol style={{ listStyle: 'none', padding: 0, margin: 0 }} aria-label="Session traces">
        {traces.map((t, i) => (
          <li key={t.id}>
            <SessionTurn trace={t} index={i} />
          </li>
        ))}
      </ol>
      {session.traces.pageInfo.hasNextPage && (
        <p className="muted">
          The first {traces.length} of {session.traces.totalCount} traces are shown.{' '}
          <Link href={`/traces?filter=${encodeURIComponent(`session = ${quoteFilterValue(id)}`)}`}>
            All of them in the traces list
          </Link>
        </p>
      )}
    </>
  );
}

/** One trace of a session: its root's inputs then outputs, as messages when they are chat. */
function SessionTurn({ trace: t, index }: { trace: SessionTrace; index: number }) {
  const inputs = extractMessages(t.inputs, 'inputs');
  const outputs = extractMessages(t.outputs, 'outputs');
  const total = totalTokens(t.tokenUsage);
  return (
    <article
      className="session-turn"
      aria-label={`Trace ${index + 1}: ${t.name}`}
      data-testid="session-turn"
    >
      <div className="session-turn-head">
        <strong>#{index + 1}</strong>
        <Link href={traceHref(t.id)}>{t.name || t.id}</Link>
        <TraceStatusBadge status={t.status} />
        <span className="muted">{formatTimestamp(t.startTime)}</span>
        <span className="muted">{formatLatency(t.durationMs)}</span>
        {total !== null && <span className="muted">{formatCount(total)} tokens</span>}
        {t.cost !== null && <span className="muted">{formatCost(t.cost)}</span>}
      </div>
      {inputs && outputs ? (
        <TurnConversation inputs={inputs} outputs={outputs} index={index} />
      ) : (
        <div className="io-grid">
          <section aria-label="Inputs">
            <h3>Inputs</h3>
            <PayloadView value={t.inputs} side="inputs" label="Inputs" />
          </section>
          <section aria-label="Outputs">
            <h3>Outputs</h3>
            <PayloadView value={t.outputs} side="outputs" label="Outputs" />
          </section>
        </div>
      )}
    </article>
  );
}

function TurnConversation({
  inputs,
  outputs,
  index,
}: {
  inputs: ChatMessage[];
  outputs: ChatMessage[];
  index: number;
}) {
  const [all, setAll] = useState(false);
  const turn = newTurnMessages(inputs, index === 0 || all);
  return (
    <>
      {turn.earlier > 0 && (
        <p className="muted" style={{ margin: '0 0 6px', fontSize: 12 }}>
          {turn.earlier} earlier message{turn.earlier === 1 ? '' : 's'} of the history not repeated.{' '}
          <button type="button" className="link" onClick={() => setAll(true)}>
            Show them
          </button>
        </p>
      )}
      <Conversation
        messages={[...turn.messages, ...outputs]}
        label={`Trace ${index + 1} messages`}
      />
    </>
  );
}
