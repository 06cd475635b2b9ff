import kafkajs, { type logCreator } from 'kafkajs';

const { logLevel } = kafkajs;

export interface KafkaLogEntry {
  namespace: string;
  message: string;
  extra: Record<string, unknown>;
}

/** Receives kafkajs errors (nothing below error level). */
export type KafkaErrorLogger = (entry: KafkaLogEntry) => void;

/** One line on stderr per error. */
export const stderrKafkaLogger: KafkaErrorLogger = ({ namespace, message, extra }) => {
  const details = ['error', 'broker', 'groupId', 'topic', 'retryCount', 'retryTime']
    .filter((k) => extra[k] !== undefined)
    .map((k) => `${k}=${String(extra[k])}`)
    .join(' ');
  process.stderr.write(`kafkajs ${namespace}: ${message}${details ? ` ${details}` : ''}\n`);
};

export function quietLogCreator(logger: KafkaErrorLogger): logCreator {
  return () =>
    ({ namespace, level, log }) => {
      if (level > logLevel.ERROR) return;
      const { message, timestamp: _timestamp, logger: _logger, ...extra } = log;
      logger({ namespace, message, extra });
    };
}
