export { createKafkaTransport } from './kafka-transport.ts';
export type {
  ConsumeOptions,
  ConsumerHandle,
  IncomingMessage,
  KafkaConfig,
  KafkaTransport,
  OutgoingRecord,
} from './kafka-transport.ts';
export {
  KafkaTopicConfigError,
  KafkaTransportError,
  KafkaUnavailableError,
} from './kafka.errors.ts';
export { stderrKafkaLogger } from './kafka-logger.ts';
export type { KafkaErrorLogger, KafkaLogEntry } from './kafka-logger.ts';
export { topicForDomain } from './topics.ts';
