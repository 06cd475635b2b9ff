'use client';

import { useState, type ReactNode } from 'react';
import { extractMessages, type ChatMessage } from '../../lib/tracing.ts';

const MAX_MEMBERS = 500;
/** Strings longer than this are folded to their first line until expanded. */
const LONG_STRING = 400;

/**
 * A JSON value as a collapsible tree (objects and arrays fold, open `openDepth` levels deep).
 * Text only: keys and values are React text, never HTML.
 */
export function JsonTree({
  value,
  label,
  openDepth = 2,
}: {
  value: unknown;
  label: string;
  openDepth?: number;
}) {
  return (
    <ul className="json-tree" aria-label={label} data-testid="json-tree">
      <JsonNode name={null} value={value} depth={0} openDepth={openDepth} />
    </ul>
  );
}

function JsonNode({
  name,
  value,
  depth,
  openDepth,
}: {
  name: string | null;
  value: unknown;
  depth: number;
  openDepth: number;
}) {
  const label = name === null ? null : <span className="json-key">{name}: </span>;
  if (value !== null && typeof value === 'object') {
    const members: [string, unknown][] = Array.isArray(value)
      ? value.map((v, i): [string, unknown] => [String(i), v])
      : Object.entries(value as Record<string, unknown>);
    const summary = Array.isArray(value)
      ? `[ ${members.length} item${members.length === 1 ? '' : 's'} ]`
      : `{ ${members.length} key${members.length === 1 ? '' : 's'} }`;
    if (members.length === 0)
      return (
        <li>
          {label}
          <span className="muted">{Array.isArray(value) ? '[]' : '{}'}</span>
        </li>
      );
    return (
      <li>
        <details open={depth < openDepth}>
          <summary>
            {label}
            <span className="muted">{summary}</span>
          </summary>
          <ul>
            {members.slice(0, MAX_MEMBERS).map(([k, v]) => (
              <JsonNode key={k} name={k} value={v} depth={depth + 1} openDepth={openDepth} />
            ))}
            {members.length > MAX_MEMBERS && (
              <li className="muted">… {members.length - MAX_MEMBERS} more</li>
            )}
          </ul>
        </details>
      </li>
    );
  }
  if (typeof value === 'string' && value.length > LONG_STRING)
    return <LongString label={label} text={value} />;
  const kind = value === null ? 'null' : typeof value;
  return (
    <li>
      {label}
      <span className={`json-${kind}`} style={{ whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' }}>
        {JSON.stringify(value)}
      </span>
    </li>
  );
}

function LongString({ label, text }: { label: ReactNode; text: string }) {
  const [open, setOpen] = useState(false);
  return (
    <li>
      {label}
      <span className="json-string" style={{ whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' }}>
        {open ? text : `${text.slice(0, LONG_STRING)}…`}
      </span>{' '}
      <button type="button" className="link" onClick={() => setOpen(!open)}>
        {open ? 'less' : `all ${text.length} characters`}
      </button>
    </li>
  );
}

/** Chat messages with role labels; tool calls as their name and arguments. Text only. */
export function Conversation({ messages, label }: { messages: ChatMessage[]; label: string }) {
  return (
    <ol className="conversation" aria-label={label} data-testid="conversation">
      {messages.map((m, i) => (
        <li key={i} className="message" data-role={m.role} data-testid="message">
          <div className="message-role">
            <span data-testid="message-role">{m.role}</span>
            {m.name && <span className="muted">{m.name}</span>}
            {m.toolCallId && <span className="muted mono">↩ {m.toolCallId}</span>}
          </div>
          {m.content !== '' && (
            <div className="message-content" data-testid="message-content">
              {m.content}
            </div>
          )}
          {m.attachments.length > 0 && (
            <div className="muted" style={{ fontSize: 12 }}>
              {m.attachments.join(' ')}
            </div>
          )}
          {m.toolCalls.map((call, j) => (
            <div key={j} className="tool-call" data-testid="tool-call">
              <span className="muted">Tool call </span>
              <span className="tool-name mono">{call.name}</span>
              {call.id && <span className="muted mono"> · {call.id}</span>}
              {call.arguments !== '' && <pre>{call.arguments}</pre>}
            </div>
          ))}
          {m.content === '' && m.toolCalls.length === 0 && m.attachments.length === 0 && (
            <div className="muted">(empty)</div>
          )}
        </li>
      ))}
    </ol>
  );
}

/**
 * A span's inputs or outputs: a conversation when the value holds chat messages (with a toggle
 * to the raw JSON), plain text for a string, else a JSON tree.
 */
export function PayloadView({
  value,
  side,
  label,
}: {
  value: unknown;
  side: 'inputs' | 'outputs';
  label: string;
}) {
  const messages = extractMessages(value, side);
  const [raw, setRaw] = useState(false);
  if (value === null || value === undefined) return <p className="muted">None</p>;
  if (messages && !raw)
    return (
      <>
        <RawToggle raw={raw} setRaw={setRaw} />
        <Conversation messages={messages} label={label} />
      </>
    );
  return (
    <>
      {messages && <RawToggle raw={raw} setRaw={setRaw} />}
      {typeof value === 'string' ? (
        <pre className="artifact-text" tabIndex={0} aria-label={label}>
          {value}
        </pre>
      ) : (
        <JsonTree value={value} label={label} />
      )}
    </>
  );
}

function RawToggle({ raw, setRaw }: { raw: boolean; setRaw(v: boolean): void }) {
  return (
    <div className="field" role="group" aria-label="View" style={{ marginBottom: 6 }}>
      <button type="button" aria-pressed={!raw} onClick={() => setRaw(false)}>
        Conversation
      </button>
      <button type="button" aria-pressed={raw} onClick={() => setRaw(true)}>
        JSON
      </button>
    </div>
  );
}
