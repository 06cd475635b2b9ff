import { randomInt } from 'node:crypto';

const ADJECTIVES = [
  'amber',
  'brave',
  'calm',
  'clever',
  'bold',
  'bright',
  'crisp',
  'eager',
  'gentle',
  'keen',
  'lucid',
  'merry',
  'nimble',
  'quiet',
  'rapid',
  'silent',
  'steady',
  'swift',
  'vivid',
  'wise',
];
const NOUNS = [
  'badger',
  'cairn',
  'comet',
  'crane',
  'delta',
  'falcon',
  'fjord',
  'glacier',
  'harbor',
  'heron',
  'lynx',
  'meadow',
  'otter',
  'pine',
  'quartz',
  'ridge',
  'river',
  'summit',
  'tundra',
  'willow',
];

/** A readable default run name, as MLflow gives one when the client names none. */
export function randomRunName(): string {
  return `${ADJECTIVES[randomInt(ADJECTIVES.length)]}-${NOUNS[randomInt(NOUNS.length)]}-${randomInt(1000)}`;
}
