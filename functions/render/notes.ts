/**
 * Diagnosis notes ("check first"): remarks that do not change keymend's verdict but bear on trusting
 * it (core/layer-note.ts: AWS's message names a layer keymend does not find blocking, so its picture of
 * the account is incomplete or stale). Every renderer shows all of them, before the change, since a
 * person must read them before approving; auto mode never applies a fix that carries one. Pure.
 */
import type { Diagnosis } from '../core/diagnose';

/** The heading every renderer puts above the notes. */
export const NOTES_HEADING = 'CHECK FIRST';

/** The sentence that introduces the notes, for people deciding. */
export const NOTES_LEAD = "Before you approve: keymend's diagnosis carries a note.";

/** The notes of a diagnosis, as sentences (unescaped: each renderer escapes for its medium). */
export function diagnosisNotes(diagnosis: Pick<Diagnosis, 'notes'> | null | undefined): string[] {
  return (diagnosis?.notes ?? []).map((note) => note.message);
}
