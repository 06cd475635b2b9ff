import { Suspense } from 'react';
import { LoginForm } from './login-form.tsx';

export default function Page() {
  return (
    <Suspense fallback={<p className="page-loading">Loading…</p>}>
      <LoginForm />
    </Suspense>
  );
}
