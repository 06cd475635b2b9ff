export * from './store.ts';
export * from './paths.ts';
export * from './hashing.ts';
export * from './local-store.ts';
export * from './s3-store.ts';
export * from './tar.ts';
export * from './config.ts';
