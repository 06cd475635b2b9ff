// Moved to packages/net-policy (issue 19).
export * from '@cairn/net-policy';
