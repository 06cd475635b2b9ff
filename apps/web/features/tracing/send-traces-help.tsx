'use client';

import { useEffect, useState } from 'react';
import { useDashboard } from '../../components/providers.tsx';
import { otlpTracesUrl, trackingUri } from '../../lib/tracing.ts';

/** The empty state of the traces list: where to send traces, and how (OTLP, the Python SDK). */
export function SendTracesHelp() {
  const { endpoints, workspace } = useDashboard();
  const [origin, setOrigin] = useState('http://127.0.0.1:4680');
  useEffect(() => setOrigin(window.location.origin), []);
  const otlp = otlpTracesUrl(endpoints.http, origin);
  const uri = trackingUri(endpoints.http, origin);
  const wsHeader = workspace === 'default' ? '' : `,x-cairn-workspace=${workspace}`;
  return (
    <section className="empty-state" aria-label="How to send traces" data-testid="traces-empty">
      <h2 style={{ marginTop: 0 }}>No traces yet</h2>
      <p>
        Cairn takes OpenTelemetry traces over OTLP/HTTP (protobuf or JSON) at{' '}
        <code className="mono" data-testid="otlp-endpoint">
          {otlp}
        </code>
        . Any OpenTelemetry SDK, OpenInference or Vercel AI SDK instrumentation can send them:
      </p>
      <pre className="code">
        {`export OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=${otlp}
export OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/protobuf${
          wsHeader ? `\nexport OTEL_EXPORTER_OTLP_TRACES_HEADERS=${wsHeader.slice(1)}` : ''
        }`}
      </pre>
      <p>With the Python SDK, decorate the functions to trace:</p>
      <pre className="code">
        {`import cairn

cairn.set_tracking_uri("${uri}")
cairn.openai.autolog()   # optional: a span per OpenAI call

@cairn.trace
def answer(question: str) -> str:
    ...`}
      </pre>
    </section>
  );
}
