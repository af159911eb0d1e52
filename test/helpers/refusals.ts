/** Assertions on diagnose's verdicts. */
import type { DiagnoseResult } from '../../functions/core/diagnose';

/**
 * The verdict and code of a result, as one pair a failed assertion prints in full:
 * `expect(verdictOf(result)).toEqual(['refuse', 'explicit-deny'])`.
 */
export function verdictOf(result: DiagnoseResult): [DiagnoseResult['verdict'], string | null] {
  return [result.verdict, 'code' in result ? result.code : null];
}
