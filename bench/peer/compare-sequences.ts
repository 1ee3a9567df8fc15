/**
 * Token-for-token comparison of generated sequences against the expected
 * ones (our worker's, one prompt at a time), with a per-prompt verdict the
 * bench prints: "identical", or where the first difference is.
 */

export interface SequenceCheck {
  label: string;
  identical: number;
  /** One short verdict per prompt. */
  perPrompt: string[];
  /** A line per differing prompt, for the failure banner. */
  mismatches: string[];
}

export function compareSequences(label: string, expected: readonly (readonly number[])[], actual: readonly (readonly number[])[]): SequenceCheck {
  const perPrompt: string[] = [];
  const mismatches: string[] = [];
  expected.forEach((want, i) => {
    const got = actual[i] ?? [];
    const at = want.findIndex((id, k) => got[k] !== id);
    if (at === -1 && got.length === want.length) {
      perPrompt.push("identical");
      return;
    }
    const k = at === -1 ? want.length : at;
    perPrompt.push(`DIFFERS at new token ${k}`);
    mismatches.push(`prompt ${i}: first difference at new token ${k}: expected [${want.slice(k, k + 4).join(", ")}…], got [${got.slice(k, k + 4).join(", ")}…] (${got.length} of ${want.length} tokens)`);
  });
  return { label, identical: perPrompt.filter((v) => v === "identical").length, perPrompt, mismatches };
}
