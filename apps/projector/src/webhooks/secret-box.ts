// Moved to packages/secrets (issue 19).
export * from '@cairn/secrets';
