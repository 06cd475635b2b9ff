export * from './postgres.ts';
export * from './kafka-broker.ts';
export * from './builders.ts';
export * from './read-models.ts';
export * from './mixed-history.ts';
