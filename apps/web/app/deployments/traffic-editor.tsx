'use client';

import { useEffect, useState, type FormEvent } from 'react';
import { ErrorMessage } from '../../components/error-message.tsx';
import { TypedError } from './deployment-parts.tsx';
import {
  UPDATE_DEPLOYMENT,
  type DeploymentSummary,
  type DeploymentVariant,
} from './deployments.documents.ts';
import { weightsError } from './deployments-logic.ts';
import { useMutation } from './use-mutation.ts';

/**
 * The traffic split's weights → updateDeployment (the variants' URIs unchanged). With two
 * variants, changing one weight sets the other to the rest of 100.
 */
export function TrafficEditor({
  name,
  variants,
  onSaved,
}: {
  name: string;
  variants: DeploymentVariant[];
  onSaved: (d: DeploymentSummary) => void;
}) {
  const current = variants.map((v) => v.weight).join(',');
  const [weights, setWeights] = useState<string[]>(() => variants.map((v) => String(v.weight)));
  const [dirty, setDirty] = useState(false);
  const save = useMutation<{ updateDeployment: DeploymentSummary }>();
  // A push with other weights (edited elsewhere) resets an untouched editor.
  useEffect(() => {
    if (!dirty) setWeights(current.split(','));
  }, [current, dirty]);

  const numbers = weights.map((w) => (w.trim() === '' ? NaN : Number(w)));
  const problem = weightsError(numbers);
  const setAt = (i: number, text: string) => {
    setDirty(true);
    setWeights((ws) => {
      const next = [...ws];
      next[i] = text;
      const n = Number(text);
      if (ws.length === 2 && text.trim() !== '' && Number.isInteger(n) && n >= 0 && n <= 100)
        next[1 - i] = String(100 - n);
      return next;
    });
  };
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (problem) return;
    const data = await save.run(UPDATE_DEPLOYMENT, {
      input: {
        name,
        variants: variants.map((v, i) => ({
          name: v.name,
          modelUri: v.modelUri,
          weight: numbers[i]!,
        })),
      },
    });
    if (data) {
      setDirty(false);
      onSaved(data.updateDeployment);
    }
  };

  return (
    <form className="toolbar" aria-label="Traffic split" onSubmit={(e) => void submit(e)}>
      {variants.map((v, i) => (
        <label key={v.name} className="field">
          <span>Weight of {v.name}</span>
          <input
            type="number"
            min={0}
            max={100}
            step={1}
            style={{ width: 72 }}
            value={weights[i] ?? ''}
            aria-invalid={problem && dirty ? true : undefined}
            onChange={(e) => setAt(i, e.target.value)}
          />
          <span aria-hidden="true">%</span>
        </label>
      ))}
      <button type="submit" className="primary" disabled={save.busy || !dirty || !!problem}>
        Save split
      </button>
      {dirty && (
        <button
          type="button"
          onClick={() => {
            setDirty(false);
            save.setError(null);
          }}
        >
          Reset
        </button>
      )}
      {dirty && problem && (
        <ErrorMessage
          error={{ message: problem, code: null, position: null, argument: null, network: false }}
        />
      )}
      {save.error && <TypedError error={save.error} />}
    </form>
  );
}
