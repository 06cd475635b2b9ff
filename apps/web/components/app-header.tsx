'use client';

import Link from 'next/link';
import { usePathname } from 'next/navigation';
import { API_STORAGE_KEY } from '../lib/api-config.ts';
import { useLiveStatus } from '../lib/hooks.ts';
import { useDashboard, useTheme, type ThemeChoice } from './providers.tsx';

const LIVE_TEXT = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  offline: 'Offline',
} as const;

const NEXT_THEME: Record<ThemeChoice, ThemeChoice> = {
  system: 'light',
  light: 'dark',
  dark: 'system',
};

export function LiveIndicator() {
  const status = useLiveStatus();
  return (
    <span className="live-indicator" data-status={status} role="status" aria-live="polite">
      <span className="dot" aria-hidden="true" />
      {LIVE_TEXT[status]}
    </span>
  );
}

export function AppHeader() {
  const pathname = usePathname();
  const { choice, setChoice } = useTheme();
  const { endpoints } = useDashboard();
  return (
    <>
      <header className="app-header">
        <Link className="brand" href="/">
          Cairn
        </Link>
        <nav aria-label="Main">
          <Link href="/" aria-current={pathname === '/' ? 'page' : undefined}>
            Experiments
          </Link>
        </nav>
        <LiveIndicator />
        <button
          type="button"
          onClick={() => setChoice(NEXT_THEME[choice])}
          aria-label={`Theme: ${choice}. Switch to ${NEXT_THEME[choice]}`}
          title="Theme: system, light or dark"
        >
          {choice === 'system' ? '◐ System' : choice === 'light' ? '☀ Light' : '☾ Dark'}
        </button>
      </header>
      {endpoints.custom && (
        <div className="api-banner" role="note">
          <span>
            API: <span className="mono">{endpoints.http}</span>
          </span>
          <button
            type="button"
            className="link"
            onClick={() => {
              try {
                window.localStorage.removeItem(API_STORAGE_KEY);
              } catch {
                // storage disabled
              }
              const url = new URL(window.location.href);
              url.searchParams.delete('api');
              window.location.assign(url.toString());
            }}
          >
            Use this server&apos;s API
          </button>
        </div>
      )}
    </>
  );
}
