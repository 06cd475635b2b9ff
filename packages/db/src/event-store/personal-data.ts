import { createCipheriv, createDecipheriv, createHash, randomBytes, randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import {
  erasedPlaceholder,
  isSealedValue,
  personalFieldsOf,
  PII_TAG,
  SUBJECT_FIELD,
  type NewEvent,
  type SealedValue,
} from '@cairn/events';
import type { DB } from '../types.ts';

/**
 * Crypto-shredding of personal data (docs/governance.md, "Erasure"). The personal fields of an
 * event (`PERSONAL_FIELDS` in @cairn/events) are sealed with their subject's AES-256-GCM key
 * before the append and revealed by the readers of the log (`readStream`, the projector's batch,
 * the audit log) before decoding: the one place where sealed values become plain text again. An
 * erased subject's key is gone, and its values read as `erasedPlaceholder(subject)`.
 */

const IV_BYTES = 12;

/** The `subject_keys.lookup` of an email: SHA-256 hex of the normalised email. */
export function subjectLookup(email: string): string {
  return createHash('sha256').update(email.trim().toLowerCase(), 'utf8').digest('hex');
}

/**
 * The subject (and its key) of an email, created on first use. One subject per email over all
 * workspaces; `workspaceId` is recorded as the workspace that created it.
 */
export async function subjectForEmail(
  db: Kysely<DB>,
  workspaceId: string,
  email: string,
): Promise<{ subjectId: string; key: Buffer }> {
  const lookup = subjectLookup(email);
  const find = () =>
    db
      .selectFrom('subject_keys')
      .select(['subject_id', 'key'])
      .where('lookup', '=', lookup)
      .executeTakeFirst();
  let row = await find();
  if (!row) {
    await sql`
      INSERT INTO subject_keys (workspace_id, subject_id, key, lookup)
      VALUES (${workspaceId}, ${randomUUID()}, ${randomBytes(32)}, ${lookup})
      ON CONFLICT (lookup) WHERE lookup IS NOT NULL DO NOTHING`.execute(db);
    row = await find();
  }
  if (!row?.key) throw new Error('subject key missing after insert');
  return { subjectId: row.subject_id, key: row.key };
}

/** The subject of an email that is not erased, or null. */
export async function findSubjectByEmail(db: Kysely<DB>, email: string): Promise<string | null> {
  const row = await db
    .selectFrom('subject_keys')
    .select('subject_id')
    .where('lookup', '=', subjectLookup(email))
    .executeTakeFirst();
  return row?.subject_id ?? null;
}

/** Deletes a subject's key (irreversible). Run it in the transaction that appends SubjectErased. */
export async function eraseSubjectKey(db: Kysely<DB>, subjectId: string): Promise<void> {
  await db
    .updateTable('subject_keys')
    .set({ key: null, lookup: null, erased_at: sql`now()` })
    .where('subject_id', '=', subjectId)
    .execute();
}

function seal(key: Buffer, subjectId: string, value: unknown): SealedValue {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(subjectId, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
  const c = [iv, cipher.getAuthTag(), ciphertext].map((b) => b.toString('base64url')).join('.');
  return { [PII_TAG]: subjectId, c };
}

function open(key: Buffer, sealed: SealedValue): unknown {
  const [iv, tag, ciphertext] = sealed.c.split('.');
  if (!iv || !tag || ciphertext === undefined) throw new Error('not a sealed value');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
  decipher.setAAD(Buffer.from(sealed.$pii, 'utf8'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  const text = Buffer.concat([
    decipher.update(Buffer.from(ciphertext, 'base64url')),
    decipher.final(),
  ]).toString('utf8');
  return JSON.parse(text) as unknown;
}

/**
 * The data of each event as it is to be stored: personal fields sealed with the key of the
 * subject the event's email names (created on first use). Events without personal fields are
 * returned as they are (the same object).
 */
export async function sealPersonalData(
  db: Kysely<DB>,
  workspaceId: string,
  events: readonly NewEvent[],
): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const event of events) {
    const fields = personalFieldsOf(event.type);
    const data = event.data as Record<string, unknown> | null;
    const email = data?.[SUBJECT_FIELD];
    if (!fields || !data || typeof email !== 'string' || email === '') {
      out.push(event.data);
      continue;
    }
    const { subjectId, key } = await subjectForEmail(db, workspaceId, email);
    const sealed: Record<string, unknown> = { ...data };
    for (const field of fields) {
      if (field in data && data[field] !== null && data[field] !== undefined)
        sealed[field] = seal(key, subjectId, data[field]);
    }
    out.push(sealed);
  }
  return out;
}

/** Whether any event of these types can hold sealed values. */
export function mayHoldPersonalData(events: readonly { type: string }[]): boolean {
  return events.some((e) => personalFieldsOf(e.type) !== undefined);
}

/**
 * The same events with their sealed values opened: plain values, or the erased placeholder
 * where the subject's key is gone (or a value cannot be opened). One query for the keys of the
 * whole list; lists without events of personal-data types are returned unchanged.
 */
export async function revealPersonalData<E extends { type: string; data: unknown }>(
  db: Kysely<DB>,
  events: readonly E[],
): Promise<E[]> {
  if (!mayHoldPersonalData(events)) return [...events];
  const subjects = new Set<string>();
  for (const event of events) {
    const fields = personalFieldsOf(event.type);
    if (!fields || typeof event.data !== 'object' || event.data === null) continue;
    for (const field of fields) {
      const value = (event.data as Record<string, unknown>)[field];
      if (isSealedValue(value)) subjects.add(value.$pii);
    }
  }
  if (subjects.size === 0) return [...events];
  const rows = await db
    .selectFrom('subject_keys')
    .select(['subject_id', 'key'])
    .where('subject_id', 'in', [...subjects])
    .execute();
  const keys = new Map(rows.map((r) => [r.subject_id, r.key]));
  return events.map((event) => {
    const fields = personalFieldsOf(event.type);
    if (!fields || typeof event.data !== 'object' || event.data === null) return event;
    const data = { ...(event.data as Record<string, unknown>) };
    let changed = false;
    for (const field of fields) {
      const value = data[field];
      if (!isSealedValue(value)) continue;
      changed = true;
      const key = keys.get(value.$pii);
      let plain: unknown = erasedPlaceholder(value.$pii);
      if (key) {
        try {
          plain = open(key, value);
        } catch {
          plain = erasedPlaceholder(value.$pii);
        }
      }
      data[field] = plain;
    }
    return changed ? { ...event, data } : event;
  });
}
