export * from './envelope.ts';
export * from './ids.ts';
export * from './common.ts';
export * from './catalogue.ts';
export * from './decode.ts';
export * from './streams.ts';
export * from './experiments/experiment.events.ts';
export * from './runs/run.events.ts';
