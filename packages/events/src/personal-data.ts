import type { EventType } from './catalogue.ts';

/**
 * Personal data in event bodies (docs/governance.md, "Erasure"). The fields named here are stored
 * encrypted with their data subject's key (the subject of the event's `email`): in the log a
 * field's value is a sealed value `{ "$pii": <subject id>, "c": <ciphertext> }`. Readers reveal
 * them before decoding (packages/db `revealPersonalData`); a field whose key is erased reads as
 * `erasedPlaceholder(subject)`. Event types not listed carry no personal data.
 */
export const PERSONAL_FIELDS = {
  UserCreated: ['email', 'displayName'],
  MemberInvited: ['email'],
  LoginFailed: ['email'],
} as const satisfies Partial<Record<EventType, readonly string[]>>;

/** The field of an event with personal data whose value names its data subject. */
export const SUBJECT_FIELD = 'email';

export const PII_TAG = '$pii';

export interface SealedValue {
  $pii: string;
  /** base64url `<iv>.<tag>.<ciphertext>`, AES-256-GCM of the value's JSON, AAD = subject id. */
  c: string;
}

export function personalFieldsOf(type: string): readonly string[] | undefined {
  return (PERSONAL_FIELDS as Partial<Record<string, readonly string[]>>)[type];
}

export function isSealedValue(value: unknown): value is SealedValue {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Record<string, unknown>)[PII_TAG] === 'string' &&
    typeof (value as Record<string, unknown>).c === 'string'
  );
}

/** The prefix of every erased value; the whole value is `[erased:<subject id>]`. */
export const ERASED_PREFIX = '[erased';

/**
 * What an erased field reads as: fixed text and the (random, not personal) subject id, so that
 * values of one subject stay equal to each other after erasure (an invitation still meets the
 * user it names on a rebuild) and two erased users keep distinct emails.
 */
export function erasedPlaceholder(subjectId: string): string {
  return `${ERASED_PREFIX}:${subjectId}]`;
}

export function isErasedValue(value: unknown): boolean {
  return typeof value === 'string' && value.startsWith(`${ERASED_PREFIX}:`);
}
