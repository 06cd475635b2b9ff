// Writes the event catalogue as JSON Schema into docs/events/catalogue.json; with --check, fails
// when the committed file differs from the zod schemas (like `npm run schema:check`).
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { eventCatalogueJsonSchema } from '../src/json-schema.ts';

const target = path.resolve(import.meta.dirname, '../../../docs/events/catalogue.json');
const printed = `${JSON.stringify(eventCatalogueJsonSchema(), null, 2)}\n`;
if (process.argv.includes('--check')) {
  const committed = await readFile(target, 'utf8').catch(() => '');
  if (committed !== printed) {
    console.error(
      'docs/events/catalogue.json is out of date: run `npm run events:catalogue` and commit it.',
    );
    process.exit(1);
  }
  console.log('event catalogue matches docs/events/catalogue.json');
} else {
  await writeFile(target, printed);
  console.log(`wrote ${path.relative(process.cwd(), target)}`);
}
