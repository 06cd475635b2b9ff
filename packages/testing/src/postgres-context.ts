/**
 * What the Postgres global setup (global-setup.ts) hands to test workers through vitest's
 * `provide`/`inject`. Kept free of runtime vitest imports: global setups run outside workers.
 */
export const TEMPLATE_DATABASE = 'cairn_template';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser connection string to the run's Postgres (database `postgres`). */
    pgAdminUrl: string;
    /** The migrated template every test database is cloned from. */
    pgTemplateDatabase: string;
  }
}
