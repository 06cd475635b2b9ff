'use client';

import type { Span } from '../../lib/graphql/tracing-documents.ts';
import {
  exceptionOf,
  formatCost,
  formatLatency,
  formatTokenUsage,
  nsDiffMs,
} from '../../lib/tracing.ts';
import { JsonTree, PayloadView } from './json-view.tsx';
import { SpanTypeBadge, TraceStatusBadge } from './tracing-nav.tsx';

/** Attribute value as one line of text (strings as they are, the rest as JSON). */
function valueText(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function entries(v: unknown): [string, unknown][] {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
    ? Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    : [];
}

/** The selected span: inputs and outputs, exceptions, attributes, events, links, tokens, cost. */
export function SpanDetail({ span }: { span: Span }) {
  const exceptions = span.events
    .map((e) => ({ event: e, info: exceptionOf(e) }))
    .filter((x) => x.info !== null);
  const attributes = entries(span.attributes);
  const otherEvents = span.events.filter((e) => exceptionOf(e) === null);
  return (
    <section className="span-detail" aria-label={`Span ${span.name}`} data-testid="span-detail">
      <div className="span-detail-head">
        <SpanTypeBadge type={span.spanType} />
        <h2>{span.name || span.id}</h2>
        <TraceStatusBadge status={span.status.code} />
      </div>
      <dl className="artifact-facts">
        <div>
          <dt>Duration</dt>
          <dd>{formatLatency(span.durationMs)}</dd>
        </div>
        {span.model && (
          <div>
            <dt>Model</dt>
            <dd className="mono">{span.model}</dd>
          </div>
        )}
        {span.provider && (
          <div>
            <dt>Provider</dt>
            <dd>{span.provider}</dd>
          </div>
        )}
        <div>
          <dt>Tokens</dt>
          <dd data-testid="span-tokens">
            {formatTokenUsage(span.tokenUsage)}
            {span.tokenUsage?.cachedTokens ? ` (${span.tokenUsage.cachedTokens} cached)` : ''}
            {span.tokenUsage?.reasoningTokens
              ? ` (${span.tokenUsage.reasoningTokens} reasoning)`
              : ''}
          </dd>
        </div>
        <div>
          <dt>Cost</dt>
          <dd>{formatCost(span.cost)}</dd>
        </div>
        <div>
          <dt>Kind</dt>
          <dd>{span.kind.toLowerCase()}</dd>
        </div>
        <div>
          <dt>Span id</dt>
          <dd className="mono">{span.id}</dd>
        </div>
      </dl>
      {span.status.code === 'ERROR' && span.status.message && (
        <div className="exception" role="note">
          <strong>Status: </strong>
          {span.status.message}
        </div>
      )}
      {exceptions.map(({ event, info }, i) => (
        <div key={i} className="exception" role="note" data-testid="exception">
          <strong className="mono">{info!.type ?? 'Exception'}</strong>
          {info!.message && <span>: {info!.message}</span>}
          <span className="muted">
            {' '}
            at +{formatLatency(nsDiffMs(event.timeUnixNano, span.startTimeUnixNano))}
            {info!.escaped ? ' (escaped the span)' : ''}
          </span>
          {info!.stacktrace && <pre className="mono">{info!.stacktrace}</pre>}
        </div>
      ))}
      <div className="io-grid">
        <section aria-label="Inputs">
          <h3>Inputs</h3>
          <PayloadView value={span.inputs} side="inputs" label="Inputs" />
        </section>
        <section aria-label="Outputs">
          <h3>Outputs</h3>
          <PayloadView value={span.outputs} side="outputs" label="Outputs" />
        </section>
      </div>
      <h3>Attributes ({attributes.length})</h3>
      {attributes.length === 0 ? (
        <p className="muted">None</p>
      ) : (
        <table className="data kv" aria-label="Attributes">
          <tbody>
            {attributes.map(([k, v]) => (
              <tr key={k}>
                <td className="mono">{k}</td>
                <td className="mono" style={{ whiteSpace: 'pre-wrap' }}>
                  {valueText(v)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {otherEvents.length > 0 && (
        <>
          <h3>Events ({otherEvents.length})</h3>
          <table className="data kv" aria-label="Events">
            <tbody>
              {otherEvents.map((e, i) => (
                <tr key={i}>
                  <td>
                    <span className="mono">{e.name}</span>{' '}
                    <span className="muted">
                      +{formatLatency(nsDiffMs(e.timeUnixNano, span.startTimeUnixNano))}
                    </span>
                  </td>
                  <td className="mono" style={{ whiteSpace: 'pre-wrap' }}>
                    {entries(e.attributes)
                      .map(([k, v]) => `${k}=${valueText(v)}`)
                      .join('\n')}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      {span.links.length > 0 && (
        <>
          <h3>Links ({span.links.length})</h3>
          <ul>
            {span.links.map((l, i) => (
              <li key={i} className="mono">
                trace {l.traceId} · span {l.spanId}
              </li>
            ))}
          </ul>
        </>
      )}
      <details>
        <summary>Resource and scope</summary>
        <JsonTree value={{ resource: span.resource, scope: span.scope }} label="Resource" />
      </details>
    </section>
  );
}
