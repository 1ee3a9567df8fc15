/** Typed errors of model weights. */

/** Weights that do not fit the config: every problem is listed with names and shapes. */
export class WeightsMismatchError extends Error {
  override readonly name = "WeightsMismatchError";
  readonly missing: readonly string[];
  readonly unexpected: readonly string[];
  readonly wrongShape: readonly { name: string; expected: readonly number[]; actual: readonly number[] }[];
  constructor(problems: {
    missing: readonly string[];
    unexpected: readonly string[];
    wrongShape: readonly { name: string; expected: readonly number[]; actual: readonly number[] }[];
    source?: string;
  }) {
    const parts: string[] = [];
    if (problems.missing.length > 0) parts.push(`missing tensors: ${problems.missing.join(", ")}`);
    if (problems.unexpected.length > 0) parts.push(`unexpected tensors: ${problems.unexpected.join(", ")}`);
    for (const { name, expected, actual } of problems.wrongShape) {
      parts.push(`${name} has shape [${actual.join(", ")}], expected [${expected.join(", ")}]`);
    }
    super(`weights${problems.source === undefined ? "" : ` in ${problems.source}`} do not match the config: ${parts.join("; ")}`);
    this.missing = problems.missing;
    this.unexpected = problems.unexpected;
    this.wrongShape = problems.wrongShape;
  }
}
