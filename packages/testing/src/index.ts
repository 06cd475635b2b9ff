export * from './postgres.ts';
export * from './kafka-broker.ts';
export * from './builders.ts';
