// ESLint flat config: type-aware typescript-eslint rules plus the package boundaries of
// STYLE.md. Formatting is Prettier's job (`npm run format`); nothing here overlaps with it.
// CI runs `eslint . --max-warnings=0`: a warning fails the build like an error.
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

/** Backend packages the browser app must never import (STYLE.md "TypeScript and tooling"). */
const BACKEND_PACKAGES = [
  '@cairn/api',
  '@cairn/projector',
  '@cairn/cli',
  '@cairn/db',
  '@cairn/kafka',
  '@cairn/embedded-pg',
  '@cairn/testing',
  'pg',
  'kysely',
  'kafkajs',
];

export default defineConfig(
  globalIgnores([
    '**/node_modules/',
    '**/.next/',
    '**/.turbo/',
    '**/dist/',
    '**/coverage/',
    '**/out/',
    '**/next-env.d.ts',
    '.cache/',
    'infra/kafka/lib/',
    'bench/results/',
    'bench/**/results/',
    // Other languages' SDKs: their virtualenvs and build output hold third-party JavaScript.
    '**/.venv/',
    '**/target/',
    '**/build/',
  ]),

  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,

  {
    languageOptions: {
      parserOptions: {
        // Each file is checked with the nearest tsconfig.json (the root one, or an app's own,
        // e.g. apps/web with DOM types and JSX).
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // The three rules STYLE.md names.
      '@typescript-eslint/no-floating-promises': 'error',
      // A `default` branch is an explicit decision (it ends in assertNever where the union must be
      // covered, which the compiler then enforces); a switch without one must cover every member.
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true, allowDefaultCaseForExhaustiveSwitch: true },
      ],
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { prefer: 'type-imports', fixStyle: 'inline-type-imports' },
      ],

      // `_name` marks a deliberately unused binding (e.g. a field dropped from a rest object).
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
    },
  },

  // Migrations take `Kysely<any>` by design (they must not depend on the current DB types).
  {
    files: ['packages/db/src/migrations/**/*.ts', 'packages/db/src/migrate.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },

  // Package boundaries (STYLE.md). Relative imports inside a package are always allowed.
  {
    files: ['packages/events/**/*.ts'],
    // Scripts write generated files (docs/events/catalogue.json): the package's code stays pure.
    ignores: ['packages/events/test/**', 'packages/events/scripts/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              // zod only; node:crypto (ids) is the platform, not a dependency, and does no I/O.
              regex: '^(?!\\.{1,2}/)(?!zod$)(?!node:crypto$)',
              message:
                'packages/events depends on zod only (STYLE.md "Write side"): no I/O, no other packages.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['packages/db/src/migrations/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!kysely$)',
              message: 'Migrations are frozen and import kysely only, never app or package code.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['packages/**/*.ts'],
    ignores: ['packages/events/**', 'packages/db/src/migrations/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^@cairn/(api|projector|cli|web)(/|$)',
              message: 'Packages must not import apps: move the shared code into a package.',
            },
            {
              regex: '(^|/)apps/',
              message: 'Packages must not import apps: move the shared code into a package.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['apps/web/**/*.{ts,tsx}'],
    // Tests run in Node next to the server (e.g. they serve the export with the CLI's handler).
    ignores: ['apps/web/test/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: BACKEND_PACKAGES.map((name) => ({
            name,
            message: 'apps/web talks to the API over GraphQL only; it imports no backend package.',
          })),
          patterns: [
            {
              regex: '^@cairn/(api|projector|cli|db|kafka|embedded-pg|testing)/',
              message: 'apps/web imports no backend package.',
            },
            {
              regex: '^(\\.\\./)+(api|cli|projector|packages)/',
              message: 'apps/web imports no backend code, not even by relative path.',
            },
          ],
        },
      ],
    },
  },

  // The TypeScript SDK is published on its own: its sources import only their own files, Node
  // built-ins and its declared dependencies, nothing of the platform (CONTRIBUTING.md, "SDKs").
  {
    files: ['sdks/typescript/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!\\./)(?!node:)(?!@opentelemetry/(api|core|resources|sdk-trace-base)$)',
              message:
                '@cairn/sdk imports only ./ files, node: built-ins and its @opentelemetry dependencies.',
            },
          ],
        },
      ],
    },
  },

  // React code destructures props and hook results ({ onChange }, { subscribe, get }); those are
  // plain functions, and unbound-method cannot tell them from class methods there.
  {
    files: ['apps/web/**/*.{ts,tsx}'],
    rules: { '@typescript-eslint/unbound-method': 'off' },
  },

  // Plain JavaScript (this file, bin scripts): no type information needed.
  {
    files: ['**/*.{js,mjs,cjs}'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly' },
    },
  },
);
