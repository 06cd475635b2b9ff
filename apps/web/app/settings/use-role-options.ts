'use client';

import { useEffect, useState } from 'react';
import { useDashboard } from '../../components/providers.tsx';
import { roleOptions } from '../../lib/auth.ts';
import { CUSTOM_ROLES_QUERY, type CustomRolesResult } from '../../lib/auth-documents.ts';

/** The roles a picker offers: built-in, then the workspace's custom roles (when readable). */
export function useRoleOptions(): string[] {
  const { urql } = useDashboard();
  const [custom, setCustom] = useState<string[]>([]);
  useEffect(() => {
    let stale = false;
    void urql
      .query<CustomRolesResult>(CUSTOM_ROLES_QUERY, {}, { requestPolicy: 'network-only' })
      .toPromise()
      .then((r) => {
        if (!stale && r.data) setCustom(r.data.customRoles.map((c) => c.name));
      });
    return () => {
      stale = true;
    };
  }, [urql]);
  return roleOptions(custom);
}
