// Moved to packages/logging (issue 19: the API and the projector share it, neither owns it).
export * from '@cairn/logging';
