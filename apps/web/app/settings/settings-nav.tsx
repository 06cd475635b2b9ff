'use client';

import Link from 'next/link';
import { usePathname } from 'next/navigation';
import './settings.css';

const TABS = [
  { href: '/settings/workspaces', label: 'Workspaces' },
  { href: '/settings/members', label: 'Members' },
  { href: '/settings/keys', label: 'API keys' },
] as const;

/** The settings pages' own navigation. */
export function SettingsNav() {
  const pathname = usePathname().replace(/\/$/u, '');
  return (
    <nav className="settings-nav" aria-label="Settings">
      {TABS.map((t) => (
        <Link key={t.href} href={t.href} aria-current={pathname === t.href ? 'page' : undefined}>
          {t.label}
        </Link>
      ))}
    </nav>
  );
}
