export * from './types.ts';
export * from './client.ts';
export * from './migrate.ts';
export * from './metric-rollups.ts';
export * from './binary-arrays.ts';
export * from './event-store/event-store.errors.ts';
export * from './event-store/append.ts';
export * from './event-store/read.ts';
