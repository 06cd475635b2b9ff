import { createRequire } from 'node:module';
import { configDefaults, defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

/**
 * Test tiers by file suffix (STYLE.md "Tests"):
 *   unit  *.unit.test.ts  pure, no I/O
 *   int   *.int.test.ts   real Postgres: one server per run, a fresh database per file
 *   e2e   *.e2e.test.ts   API → events → Kafka → projector → subscription, one file at a time
 * Run one tier with `vitest run --project int`.
 */
const exclude = [...configDefaults.exclude, '**/node_modules/**', '**/.next/**', '**/dist/**'];
const postgresSetup = './packages/testing/src/global-setup.ts';

export default defineConfig({
  resolve: {
    // graphql-js ships CJS (`main`) and ESM (`module`). Node (and so yoga, graphql-ws and Pothos
    // at run time) loads the CJS build; Vite would hand our sources the ESM one, and two copies
    // of graphql-js reject each other's schemas and errors. Tests load the one Node loads.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    pool: 'forks',
    // 2-core machines: two test workers next to Postgres (and, for e2e, Kafka).
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['**/*.unit.test.ts'],
          exclude,
        },
      },
      {
        extends: true,
        test: {
          name: 'int',
          include: ['**/*.int.test.ts'],
          exclude,
          globalSetup: [postgresSetup],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['**/*.e2e.test.ts'],
          exclude,
          globalSetup: [postgresSetup],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
