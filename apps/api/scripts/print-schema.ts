// Prints the GraphQL schema into packages/schema/schema.graphql; with --check, fails when the
// committed file differs from the code (schema drift).
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { printCairnSchema } from '../src/graphql/schema.ts';

const target = path.resolve(import.meta.dirname, '../../../packages/schema/schema.graphql');
const printed = `${printCairnSchema()}\n`;
if (process.argv.includes('--check')) {
  const committed = await readFile(target, 'utf8').catch(() => '');
  if (committed !== printed) {
    console.error(
      'packages/schema/schema.graphql is out of date: run `npm run schema:print` and commit it.',
    );
    process.exit(1);
  }
  console.log('GraphQL schema matches packages/schema/schema.graphql');
} else {
  await writeFile(target, printed);
  console.log(`wrote ${path.relative(process.cwd(), target)}`);
}
