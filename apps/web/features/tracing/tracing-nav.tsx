'use client';

import Link from 'next/link';
import type { SpanType, TraceStatus } from '../../lib/graphql/tracing-documents.ts';
import './tracing.css';

const LINKS = [
  { href: '/traces', label: 'Traces', page: 'traces' },
  { href: '/sessions', label: 'Sessions', page: 'sessions' },
  { href: '/traces/usage', label: 'Usage', page: 'usage' },
  { href: '/traces/prices', label: 'Model prices', page: 'prices' },
] as const;

export type TracingPage = (typeof LINKS)[number]['page'];

/** The tracing section's sub-navigation (every tracing page shows it, and loads its styles). */
export function TracingNav({ current }: { current: TracingPage | null }) {
  return (
    <nav className="tracing-nav" aria-label="Tracing">
      {LINKS.map((l) => (
        <Link key={l.href} href={l.href} aria-current={l.page === current ? 'page' : undefined}>
          {l.label}
        </Link>
      ))}
    </nav>
  );
}

/** A trace's or span's status: colour plus the word. */
export function TraceStatusBadge({ status }: { status: TraceStatus }) {
  return (
    <span className={`badge trace-${status}`}>
      {status === 'UNSET' ? 'unset' : status === 'OK' ? 'ok' : 'error'}
    </span>
  );
}

const TYPE_GLYPH: Record<SpanType, string> = {
  LLM: '✦',
  CHAT_MODEL: '✦',
  CHAIN: '»',
  TOOL: '⚙',
  RETRIEVER: '⇣',
  AGENT: '◉',
  EMBEDDING: '∷',
  RERANKER: '⇅',
  PARSER: '¶',
  GUARDRAIL: '◆',
  EVALUATOR: '✓',
  UNKNOWN: '·',
};

const TYPE_LABEL: Record<SpanType, string> = {
  LLM: 'LLM',
  CHAT_MODEL: 'Chat',
  CHAIN: 'Chain',
  TOOL: 'Tool',
  RETRIEVER: 'Retriever',
  AGENT: 'Agent',
  EMBEDDING: 'Embedding',
  RERANKER: 'Reranker',
  PARSER: 'Parser',
  GUARDRAIL: 'Guardrail',
  EVALUATOR: 'Evaluator',
  UNKNOWN: 'Span',
};

/** A span's type as an icon and a word (the word carries the meaning, the icon is decoration). */
export function SpanTypeBadge({ type }: { type: SpanType }) {
  const known = type in TYPE_LABEL;
  return (
    <span className="span-type" data-type={type} title={`Span type: ${type}`}>
      <span className="glyph" aria-hidden="true">
        {known ? TYPE_GLYPH[type] : '·'}
      </span>
      {known ? TYPE_LABEL[type] : type}
    </span>
  );
}

export function traceHref(id: string, spanId?: string | null): string {
  return `/trace?id=${encodeURIComponent(id)}${spanId ? `&span=${encodeURIComponent(spanId)}` : ''}`;
}

export function sessionHref(id: string): string {
  return `/session?id=${encodeURIComponent(id)}`;
}
