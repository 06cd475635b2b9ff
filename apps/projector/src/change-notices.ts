// Moved to packages/change-notices (issue 19).
export * from '@cairn/change-notices';
