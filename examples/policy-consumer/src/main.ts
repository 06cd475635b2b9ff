// The policy consumer as a process: `npx tsx examples/policy-consumer/src/main.ts`.
// Configuration from the environment (README.md); stops on SIGINT / SIGTERM.
import type { ConsumerSource } from '@cairn/consumer';
import { startPolicyConsumer } from './policy.ts';

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    console.error(`policy-consumer: ${name} is required`);
    process.exit(2);
  }
  return value;
}

const postgres = process.env.CAIRN_EVENTS_DATABASE_URL;
const brokers = process.env.CAIRN_KAFKA_BROKERS;
if (!postgres === !brokers) {
  console.error(
    'policy-consumer: set exactly one of CAIRN_EVENTS_DATABASE_URL (local mode) and CAIRN_KAFKA_BROKERS (scale mode)',
  );
  process.exit(2);
}
const source: ConsumerSource = postgres
  ? { postgres }
  : { kafka: { brokers: brokers!.split(',').map((b) => b.trim()) } };
const threshold = process.env.POLICY_THRESHOLD ? Number(process.env.POLICY_THRESHOLD) : undefined;
if (threshold !== undefined && !(threshold >= 0 && threshold <= 1)) {
  console.error('policy-consumer: POLICY_THRESHOLD is a number in [0, 1]');
  process.exit(2);
}

const policy = await startPolicyConsumer({
  source,
  workspaceId: required('CAIRN_WORKSPACE'),
  cairnUrl: required('CAIRN_URL'),
  apiKey: process.env.CAIRN_API_KEY ?? null,
  webhookUrl: required('POLICY_WEBHOOK_URL'),
  ...(threshold !== undefined ? { threshold } : {}),
  ...(process.env.POLICY_START_AT === 'beginning' ? { startAt: 'beginning' as const } : {}),
});
console.log('policy-consumer: running');
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void policy.stop().then(() => process.exit(0));
  });
}
