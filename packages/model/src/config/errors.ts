/** Typed errors of the model config. */

/** A config that breaks a rule. The message names the field and the rule. */
export class ModelConfigError extends Error {
  override readonly name = "ModelConfigError";
  /** Each problem as `field: rule`, in the order found. */
  readonly issues: readonly string[];
  constructor(issues: readonly string[], options?: { cause?: unknown; source?: string }) {
    const where = options?.source === undefined ? "model config" : `model config ${options.source}`;
    super(`${where} is invalid: ${issues.join("; ")}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.issues = issues;
  }
}

/** An unknown preset name. */
export class UnknownPresetError extends Error {
  override readonly name = "UnknownPresetError";
  constructor(name: string, known: readonly string[]) {
    super(`unknown preset "${name}"; known presets: ${known.join(", ")}`);
  }
}
