'use client';

import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { ErrorMessage } from '../../components/error-message.tsx';
import { useDashboard } from '../../components/providers.tsx';
import { formatTimestamp } from '../../lib/format.ts';
import { describeError, type ApiErrorInfo } from '../../lib/graphql/errors.ts';
import {
  DELETE_MODEL_PRICE,
  MODEL_PRICES_CHANGED,
  MODEL_PRICES_QUERY,
  SET_MODEL_PRICE,
  type ModelPrice,
  type ModelPricesChangedResult,
  type ModelPriceInput,
  type ModelPricesResult,
} from '../../lib/graphql/tracing-documents.ts';
import { useSubscriptionEffect } from '../../lib/hooks.ts';
import { TracingNav } from './tracing-nav.tsx';

/** `/traces/prices`: the price table that costs spans (built-in defaults and own entries). */
export function PricesPage() {
  const { urql } = useDashboard();
  const [prices, setPrices] = useState<ModelPrice[] | null>(null);
  const [error, setError] = useState<ApiErrorInfo | null>(null);
  const [editing, setEditing] = useState<ModelPrice | null>(null);
  const [status, setStatus] = useState<string | null>(null);

  // A push is newer than any read still in flight: such a read's answer is dropped.
  const generation = useRef(0);
  const load = useCallback(async () => {
    const gen = ++generation.current;
    const result = await urql
      .query<ModelPricesResult>(MODEL_PRICES_QUERY, {}, { requestPolicy: 'network-only' })
      .toPromise();
    if (gen !== generation.current) return;
    if (result.error || !result.data) {
      setError(describeError(result.error ?? { message: 'No data' }));
      return;
    }
    setError(null);
    setPrices(result.data.modelPrices);
  }, [urql]);
  useEffect(() => void load(), [load]);
  // Live: entries added, edited or deleted elsewhere show without a reload (no polling).
  useSubscriptionEffect<ModelPricesChangedResult>(MODEL_PRICES_CHANGED, {}, (data) => {
    generation.current += 1;
    setError(null);
    setPrices(data.modelPricesChanged);
  });

  const remove = async (p: ModelPrice) => {
    if (!window.confirm(`Delete the price of ${p.modelPattern}?`)) return;
    const result = await urql.mutation(DELETE_MODEL_PRICE, { id: p.id }).toPromise();
    if (result.error) {
      setError(describeError(result.error));
      return;
    }
    setStatus(`Deleted the price of ${p.modelPattern}.`);
    if (editing?.id === p.id) setEditing(null);
    await load();
  };

  const own = prices?.filter((p) => !p.builtIn) ?? [];
  const builtIn = prices?.filter((p) => p.builtIn) ?? [];

  return (
    <>
      <h1>Model prices</h1>
      <TracingNav current="prices" />
      <p className="muted">
        The cost of a span is its input tokens × the input price plus its output tokens × the output
        price (cached input tokens at the cached price), per million tokens, in US dollars. The
        entry whose pattern (a regular expression over the whole model name) matches and whose start
        is the latest at or before the span wins; your entries come before the built-in ones. A
        change re-prices the matching spans.
      </p>
      <PriceForm
        key={editing?.id ?? 'new'}
        editing={editing}
        onCancel={() => setEditing(null)}
        onSaved={(p) => {
          setStatus(`Saved the price of ${p.modelPattern}.`);
          setEditing(null);
          void load();
        }}
      />
      {status && (
        <p role="status" className="muted">
          {status}
        </p>
      )}
      {error && <ErrorMessage error={error} />}
      {!prices && !error && <p className="page-loading">Loading…</p>}
      {prices && (
        <div style={{ overflowX: 'auto' }}>
          <table className="data" aria-label="Model prices">
            <thead>
              <tr>
                <th scope="col">Model pattern</th>
                <th scope="col">Provider</th>
                <th scope="col" className="num">
                  Input $/M
                </th>
                <th scope="col" className="num">
                  Output $/M
                </th>
                <th scope="col" className="num">
                  Cached input $/M
                </th>
                <th scope="col">From</th>
                <th scope="col">Source</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {[...own, ...builtIn].map((p) => (
                <tr key={p.id} className={editing?.id === p.id ? 'selected' : undefined}>
                  <td className="mono" style={{ maxWidth: 420, wordBreak: 'break-all' }}>
                    {p.modelPattern}
                  </td>
                  <td>{p.provider ?? <span className="muted">any</span>}</td>
                  <td className="num">{p.inputPerMillion}</td>
                  <td className="num">{p.outputPerMillion}</td>
                  <td className="num">{p.cachedInputPerMillion ?? '—'}</td>
                  <td>{formatTimestamp(p.effectiveFrom)}</td>
                  <td>
                    {p.builtIn ? (
                      <span
                        className="badge"
                        title="Shipped with Cairn: override with your own entry"
                      >
                        built-in
                      </span>
                    ) : (
                      <span className="badge trace-OK">own</span>
                    )}
                  </td>
                  <td className="row-action" style={{ textAlign: 'right' }}>
                    {p.builtIn ? (
                      <button
                        type="button"
                        onClick={() => setEditing({ ...p, id: '', builtIn: false })}
                        aria-label={`Override ${p.modelPattern}`}
                      >
                        Override
                      </button>
                    ) : (
                      <span className="field">
                        <button
                          type="button"
                          onClick={() => setEditing(p)}
                          aria-label={`Edit ${p.modelPattern}`}
                        >
                          Edit
                        </button>
                        <button
                          type="button"
                          className="danger"
                          onClick={() => void remove(p)}
                          aria-label={`Delete ${p.modelPattern}`}
                        >
                          Delete
                        </button>
                      </span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

function numberOrNull(text: string): number | null {
  const t = text.trim();
  if (t === '') return null;
  const n = Number(t);
  return Number.isFinite(n) && n >= 0 ? n : Number.NaN;
}

/** Datetime-local text of an epoch ms (local time), and back. */
function toLocalInput(ms: number): string {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

function PriceForm({
  editing,
  onSaved,
  onCancel,
}: {
  editing: ModelPrice | null;
  onSaved(p: ModelPrice): void;
  onCancel(): void;
}) {
  const { urql } = useDashboard();
  const [pattern, setPattern] = useState(editing?.modelPattern ?? '');
  const [provider, setProvider] = useState(editing?.provider ?? '');
  const [input, setInput] = useState(editing ? String(editing.inputPerMillion) : '');
  const [output, setOutput] = useState(editing ? String(editing.outputPerMillion) : '');
  const [cached, setCached] = useState(
    editing?.cachedInputPerMillion === null || editing?.cachedInputPerMillion === undefined
      ? ''
      : String(editing.cachedInputPerMillion),
  );
  // An edit keeps its start, an override starts with the entry it overrides (so the traces
  // that entry priced are re-priced); a new entry starts now unless a date is given.
  const initialFrom = editing ? toLocalInput(editing.effectiveFrom) : '';
  const [from, setFrom] = useState(initialFrom);
  const [error, setError] = useState<ApiErrorInfo | null>(null);
  const [busy, setBusy] = useState(false);
  const updating = Boolean(editing?.id);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const inputPerMillion = numberOrNull(input);
    const outputPerMillion = numberOrNull(output);
    const cachedInputPerMillion = numberOrNull(cached);
    const bad = (message: string) =>
      setError({ message, code: null, position: null, argument: null, network: false });
    if (!pattern.trim()) return bad('A model pattern is required, e.g. gpt-4o-mini.*');
    try {
      new RegExp(pattern.trim());
    } catch {
      return bad('The model pattern is not a valid regular expression.');
    }
    if (inputPerMillion === null || Number.isNaN(inputPerMillion))
      return bad('The input price is a number ≥ 0 (US dollars per million tokens).');
    if (outputPerMillion === null || Number.isNaN(outputPerMillion))
      return bad('The output price is a number ≥ 0 (US dollars per million tokens).');
    if (Number.isNaN(cachedInputPerMillion)) return bad('The cached input price is a number ≥ 0.');
    // Unchanged: the exact stored start (the field shows minutes only).
    const effectiveFrom =
      editing && from === initialFrom
        ? editing.effectiveFrom
        : from
          ? new Date(from).getTime()
          : null;
    if (effectiveFrom !== null && !Number.isFinite(effectiveFrom))
      return bad('The effective date is not a valid date and time.');
    const body: ModelPriceInput = {
      ...(updating ? { id: editing!.id } : {}),
      modelPattern: pattern.trim(),
      provider: provider.trim() || null,
      inputPerMillion,
      outputPerMillion,
      cachedInputPerMillion,
      ...(effectiveFrom !== null ? { effectiveFrom } : {}),
    };
    setBusy(true);
    const result = await urql
      .mutation<{ setModelPrice: ModelPrice }>(SET_MODEL_PRICE, { input: body })
      .toPromise();
    setBusy(false);
    if (result.error || !result.data) {
      setError(describeError(result.error ?? { message: 'No data' }));
      return;
    }
    setError(null);
    onSaved(result.data.setModelPrice);
  };

  return (
    <form
      className="price-form"
      onSubmit={(e) => void submit(e)}
      aria-label={updating ? 'Edit a model price' : 'Add a model price'}
    >
      <label>
        Model pattern (regex)
        <input
          className="wide mono"
          value={pattern}
          onChange={(e) => setPattern(e.target.value)}
          placeholder="gpt-4o-mini(-\d{4}-\d{2}-\d{2})?"
          spellCheck={false}
        />
      </label>
      <label>
        Provider
        <input value={provider} onChange={(e) => setProvider(e.target.value)} placeholder="any" />
      </label>
      <label>
        Input $/M
        <input inputMode="decimal" value={input} onChange={(e) => setInput(e.target.value)} />
      </label>
      <label>
        Output $/M
        <input inputMode="decimal" value={output} onChange={(e) => setOutput(e.target.value)} />
      </label>
      <label>
        Cached input $/M
        <input
          inputMode="decimal"
          value={cached}
          onChange={(e) => setCached(e.target.value)}
          placeholder="optional"
        />
      </label>
      <label>
        Effective from
        <input
          type="datetime-local"
          value={from}
          onChange={(e) => setFrom(e.target.value)}
          style={{ width: '14em' }}
          aria-describedby="price-from-hint"
        />
      </label>
      <button type="submit" className="primary" disabled={busy}>
        {updating ? 'Save' : 'Add price'}
      </button>
      {editing && (
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      )}
      <p
        id="price-from-hint"
        className="muted"
        style={{ flexBasis: '100%', margin: 0, fontSize: 12 }}
      >
        The entry prices spans that start at or after its effective date (empty: now); spans that
        started before keep the price they had. Pick an earlier date to re-price past traces.
      </p>
      {error && (
        <div style={{ flexBasis: '100%' }}>
          <ErrorMessage error={error} />
        </div>
      )}
    </form>
  );
}
