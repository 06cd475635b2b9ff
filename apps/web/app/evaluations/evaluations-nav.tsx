'use client';

import Link from 'next/link';
import './evaluations.css';

const LINKS = [
  { href: '/evaluations', label: 'Evaluation runs', page: 'runs' },
  { href: '/evaluations/rules', label: 'Online rules', page: 'rules' },
  { href: '/evaluations/queues', label: 'Annotation queues', page: 'queues' },
] as const;

export type EvaluationsPage = (typeof LINKS)[number]['page'];

/** The evaluation section's sub-navigation (every evaluation page shows it, and loads its styles). */
export function EvaluationsNav({ current }: { current: EvaluationsPage | null }) {
  return (
    <nav className="evaluations-nav" aria-label="Evaluation">
      {LINKS.map((l) => (
        <Link key={l.href} href={l.href} aria-current={l.page === current ? 'page' : undefined}>
          {l.label}
        </Link>
      ))}
    </nav>
  );
}
