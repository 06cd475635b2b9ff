export { subscribe, EVERY_EVENT_TYPE } from './consumer.ts';
export type {
  ConsumedEvent,
  ConsumerSource,
  EventHandler,
  SubscribeOptions,
  Subscription,
} from './consumer.ts';
export { ConsumerConfigError, ConsumerStoppedError } from './consumer.errors.ts';
export { kafkaGroupId, topicsFor } from './kafka-source.ts';
export { loadConsumerCheckpoint } from './postgres-source.ts';
export type { ConsumerCheckpoint } from './postgres-source.ts';
