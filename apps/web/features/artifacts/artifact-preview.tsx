'use client';

import { useEffect, useState } from 'react';
import { ErrorMessage } from '../../components/error-message.tsx';
import { useDashboard } from '../../components/providers.tsx';
import {
  MAX_IMAGE_PREVIEW_BYTES,
  MAX_TABLE_ROWS,
  PREVIEW_BYTES,
  PREVIEW_RANGE,
  decodeText,
  extensionOf,
  formatBytes,
  looksBinary,
  parseDelimited,
  prettyJson,
  previewKind,
  type DelimitedTable,
} from '../../lib/artifacts.ts';
import { formatTimestamp } from '../../lib/format.ts';
import type { ArtifactEntry } from '../../lib/graphql/artifact-documents.ts';
import type { ApiErrorInfo } from '../../lib/graphql/errors.ts';
import { DownloadButton } from './download-button.tsx';
import { networkError, readPrefix, responseError } from './artifact-fetch.ts';

type Loaded =
  | { kind: 'loading' }
  | { kind: 'error'; error: ApiErrorInfo }
  | { kind: 'text'; text: string; truncated: boolean }
  | { kind: 'json'; text: string; truncated: boolean; valid: boolean; value?: unknown }
  | { kind: 'table'; table: DelimitedTable; truncated: boolean }
  | { kind: 'image'; url: string }
  | { kind: 'none'; reason: string };

/** JSON up to this size can be shown as a collapsible tree (bigger: text only). */
const MAX_JSON_TREE_CHARS = 256 * 1024;
/** Members shown per object or array in the tree. */
const MAX_JSON_MEMBERS = 1000;

const IMAGE_TYPES: Record<string, string> = {
  svg: 'image/svg+xml',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  bmp: 'image/bmp',
  ico: 'image/x-icon',
  avif: 'image/avif',
};

/** One file: its facts (size, sha256, when), a download button and a preview by kind. */
export function ArtifactPreview({ entry }: { entry: ArtifactEntry }) {
  const client = useDashboard();
  const [loaded, setLoaded] = useState<Loaded>({ kind: 'loading' });
  const kind = previewKind(entry.name);
  const size = entry.size === null ? null : Number(entry.size);

  useEffect(() => {
    let cancelled = false;
    let objectUrl: string | null = null;
    const controller = new AbortController();
    setLoaded({ kind: 'loading' });
    const run = async (): Promise<Loaded> => {
      if (kind === 'binary')
        return { kind: 'none', reason: 'No preview for this kind of file: download it.' };
      if (kind === 'image') {
        if (size !== null && size > MAX_IMAGE_PREVIEW_BYTES)
          return {
            kind: 'none',
            reason: `Image too large to preview (${formatBytes(size)}): download it.`,
          };
        const res = await client.apiFetch(entry.downloadUrl, { signal: controller.signal });
        if (!res.ok) return { kind: 'error', error: await responseError(res) };
        const blob = await res.blob();
        const type = IMAGE_TYPES[extensionOf(entry.name)] ?? blob.type;
        objectUrl = URL.createObjectURL(blob.type === type ? blob : new Blob([blob], { type }));
        return { kind: 'image', url: objectUrl };
      }
      const res = await client.apiFetch(entry.downloadUrl, {
        headers: { Range: PREVIEW_RANGE },
        signal: controller.signal,
      });
      if (!res.ok) return { kind: 'error', error: await responseError(res) };
      const { bytes, cut } = await readPrefix(res, PREVIEW_BYTES);
      const truncated = cut || (size !== null ? size > bytes.length : res.status === 206);
      if (kind === 'unknown' && looksBinary(bytes))
        return { kind: 'none', reason: 'Binary file: no preview. Download it.' };
      const text = decodeText(bytes, truncated);
      if (kind === 'json') {
        const pretty = truncated ? null : prettyJson(text);
        return {
          kind: 'json',
          text: pretty ?? text,
          truncated,
          valid: pretty !== null,
          // Small documents can also be browsed as a collapsible tree.
          ...(pretty !== null && text.length <= MAX_JSON_TREE_CHARS
            ? { value: JSON.parse(text) as unknown }
            : {}),
        };
      }
      if (kind === 'table') {
        const delimiter = extensionOf(entry.name) === 'tsv' ? '\t' : ',';
        return {
          kind: 'table',
          table: parseDelimited(text, delimiter, MAX_TABLE_ROWS, truncated),
          truncated,
        };
      }
      return { kind: 'text', text, truncated };
    };
    run()
      .then((result) => {
        if (!cancelled) setLoaded(result);
      })
      .catch((error: unknown) => {
        if (!cancelled) setLoaded({ kind: 'error', error: networkError(error) });
      });
    return () => {
      cancelled = true;
      controller.abort();
      if (objectUrl) URL.revokeObjectURL(objectUrl);
    };
    // entry.sha256: a re-logged file (same path, new content) is fetched again.
  }, [client, entry.downloadUrl, entry.name, entry.sha256, kind, size]);

  return (
    <section className="artifact-preview" aria-label={`Preview of ${entry.path}`}>
      <header className="artifact-preview-head">
        <h3 className="mono">{entry.path}</h3>
        <DownloadButton
          downloadUrl={entry.downloadUrl}
          fileName={entry.name}
          label={`Download ${entry.name}`}
          text="Download"
        />
      </header>
      <dl className="artifact-facts">
        <div>
          <dt>Size</dt>
          <dd data-testid="artifact-size" title={size === null ? undefined : `${size} bytes`}>
            {formatBytes(size)}
          </dd>
        </div>
        <div>
          <dt>SHA-256</dt>
          <dd className="mono" data-testid="artifact-sha256">
            {entry.sha256 ?? '—'}
          </dd>
        </div>
        <div>
          <dt>Logged</dt>
          <dd>{entry.loggedAt === null ? '—' : formatTimestamp(entry.loggedAt)}</dd>
        </div>
      </dl>
      <PreviewBody loaded={loaded} name={entry.name} />
    </section>
  );
}

function TruncatedNote({ truncated }: { truncated: boolean }) {
  return truncated ? (
    <p className="muted" role="note">
      Showing the first {formatBytes(PREVIEW_BYTES)}. Download the file to see all of it.
    </p>
  ) : null;
}

function PreviewBody({ loaded, name }: { loaded: Loaded; name: string }) {
  switch (loaded.kind) {
    case 'loading':
      return (
        <p className="muted" role="status">
          Loading preview…
        </p>
      );
    case 'error':
      return <ErrorMessage error={loaded.error} />;
    case 'none':
      return <p className="muted">{loaded.reason}</p>;
    case 'image':
      return (
        <div className="artifact-image">
          <img src={loaded.url} alt={`Image artifact ${name}`} data-testid="artifact-image" />
        </div>
      );
    case 'text':
      return (
        <>
          <TruncatedNote truncated={loaded.truncated} />
          <pre className="artifact-text" data-testid="artifact-text" tabIndex={0}>
            {loaded.text}
          </pre>
        </>
      );
    case 'json':
      return <JsonPreview loaded={loaded} />;
    case 'table':
      return <TablePreview table={loaded.table} name={name} truncated={loaded.truncated} />;
    default: {
      const never: never = loaded;
      return never;
    }
  }
}

function TablePreview({
  table,
  name,
  truncated,
}: {
  table: DelimitedTable;
  name: string;
  truncated: boolean;
}) {
  const width = Math.max(table.header.length, ...table.rows.map((r) => r.length));
  const columns = Array.from({ length: width }, (_, i) => table.header[i] ?? `column ${i + 1}`);
  return (
    <>
      <p className="muted" role="note">
        {table.rows.length} row{table.rows.length === 1 ? '' : 's'}
        {table.more
          ? truncated
            ? ` shown (the file goes on past the first ${formatBytes(PREVIEW_BYTES)})`
            : ` shown (the first ${MAX_TABLE_ROWS})`
          : ''}
      </p>
      <div className="artifact-table" tabIndex={0} role="region" aria-label={`Table ${name}`}>
        <table className="data" data-testid="artifact-table">
          <thead>
            <tr>
              {columns.map((c, i) => (
                <th scope="col" key={i}>
                  {c}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {table.rows.map((row, r) => (
              <tr key={r}>
                {columns.map((_, i) => (
                  <td key={i}>{row[i] ?? ''}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

function JsonPreview({ loaded }: { loaded: Extract<Loaded, { kind: 'json' }> }) {
  const [asTree, setAsTree] = useState(false);
  const canTree = 'value' in loaded;
  return (
    <>
      <TruncatedNote truncated={loaded.truncated} />
      {!loaded.valid && !loaded.truncated && (
        <p className="muted" role="note">
          Not valid JSON: shown as text.
        </p>
      )}
      {canTree && (
        <div className="field" role="group" aria-label="JSON view" style={{ marginBottom: 6 }}>
          <button type="button" aria-pressed={!asTree} onClick={() => setAsTree(false)}>
            Text
          </button>
          <button type="button" aria-pressed={asTree} onClick={() => setAsTree(true)}>
            Tree
          </button>
        </div>
      )}
      {asTree && canTree ? (
        <ul className="json-tree" data-testid="artifact-json-tree">
          <JsonNode name={null} value={loaded.value} depth={0} />
        </ul>
      ) : (
        <pre className="artifact-text" data-testid="artifact-json" tabIndex={0}>
          {loaded.text}
        </pre>
      )}
    </>
  );
}

/** One JSON value: objects and arrays fold (open two levels deep), the rest is one line. */
function JsonNode({ name, value, depth }: { name: string | null; value: unknown; depth: number }) {
  const label = name === null ? null : <span className="json-key">{name}: </span>;
  if (value !== null && typeof value === 'object') {
    const members: [string, unknown][] = Array.isArray(value)
      ? value.map((v, i): [string, unknown] => [String(i), v])
      : Object.entries(value as Record<string, unknown>);
    const summary = Array.isArray(value)
      ? `[ ${members.length} item${members.length === 1 ? '' : 's'} ]`
      : `{ ${members.length} key${members.length === 1 ? '' : 's'} }`;
    return (
      <li>
        <details open={depth < 2}>
          <summary>
            {label}
            <span className="muted">{summary}</span>
          </summary>
          <ul>
            {members.slice(0, MAX_JSON_MEMBERS).map(([k, v]) => (
              <JsonNode key={k} name={k} value={v} depth={depth + 1} />
            ))}
            {members.length > MAX_JSON_MEMBERS && (
              <li className="muted">… {members.length - MAX_JSON_MEMBERS} more</li>
            )}
          </ul>
        </details>
      </li>
    );
  }
  const kind = value === null ? 'null' : typeof value;
  return (
    <li>
      {label}
      <span className={`json-${kind}`}>{JSON.stringify(value)}</span>
    </li>
  );
}
