'use client';

import Link from 'next/link';
import { SettingsNav } from './settings-nav.tsx';

/** `/settings`: links to the workspaces, members and API keys pages. */
export default function Page() {
  return (
    <>
      <h1>Settings</h1>
      <SettingsNav />
      <ul>
        <li>
          <Link href="/settings/workspaces">Workspaces</Link>: the workspaces you may use; create
          one.
        </li>
        <li>
          <Link href="/settings/members">Members</Link>: who has which role in this workspace.
        </li>
        <li>
          <Link href="/settings/keys">API keys</Link>: keys for SDKs, MLflow clients and OTLP
          exporters; create and revoke them.
        </li>
      </ul>
    </>
  );
}
