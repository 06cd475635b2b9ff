'use client';

import { ErrorMessage } from '../../components/error-message.tsx';
import type { ApiErrorInfo } from '../../lib/graphql/errors.ts';
import { colorAt } from '../../features/charts/palette.ts';
import type { DeploymentStatus, DeploymentVariant } from './deployments.documents.ts';
import { splitText, versionLabel } from './deployments-logic.ts';
import './deployments.css';

/** The status as a word on a coloured pill. */
export function DeploymentStatusBadge({ status }: { status: DeploymentStatus }) {
  return (
    <span className={`badge deployment-${status}`} data-testid="deployment-status">
      {status.toLowerCase()}
    </span>
  );
}

/** An API error with its code (as text), e.g. FAILED_PRECONDITION. */
export function TypedError({ error }: { error: ApiErrorInfo }) {
  return (
    <div className="deployment-error" data-code={error.code ?? undefined}>
      <ErrorMessage error={error} />
      {error.code && (
        <span className="muted mono" data-testid="error-code">
          {error.code}
        </span>
      )}
    </div>
  );
}

/** What a variant serves: its URI and the version that URI resolves to now. */
export function VariantServes({ variant }: { variant: DeploymentVariant }) {
  return (
    <span className="variant-serves">
      <span className="mono">{variant.alias ? `@${variant.alias}` : variant.modelUri}</span>
      {' → '}
      <strong data-testid={`served-${variant.name}`}>{versionLabel(variant.servedVersion)}</strong>
    </span>
  );
}

/** The traffic split as one bar, a segment per variant (width = weight), labelled in words. */
export function TrafficSplitBar({
  variants,
  compact = false,
}: {
  variants: readonly DeploymentVariant[];
  compact?: boolean;
}) {
  return (
    <div
      className={`split-bar${compact ? ' compact' : ''}`}
      role="img"
      aria-label={`Traffic split: ${splitText(variants)}`}
      data-testid="split-bar"
    >
      {variants.map((v, i) =>
        v.weight > 0 ? (
          <span
            key={v.name}
            className="split-segment"
            style={{ width: `${v.weight}%`, background: colorAt(i) }}
            data-variant={v.name}
            data-weight={v.weight}
          >
            {!compact && `${v.name} ${v.weight} %`}
          </span>
        ) : null,
      )}
    </div>
  );
}
