/**
 * Typed errors of the router's index and selectors. Both are local bugs (a
 * value this process passed breaks a rule), never a remote worker's fault:
 * a malformed event batch surfaces as the `KvEventBatchError` of
 * `@sigmaserve/kvcache/events`, thrown before any state changes.
 */

/** An argument of an index or selector call breaks a rule (a negative TTL, a duplicate candidate, …). */
export class KvIndexArgumentError extends Error {
  override readonly name = "KvIndexArgumentError";
  /** The argument at fault, e.g. `"ttlMs"`, `"candidates[2].activeBlocks"`. */
  readonly argument: string;

  constructor(argument: string, rule: string, options?: { cause?: unknown }) {
    super(`${argument}: ${rule}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.argument = argument;
  }
}

/** A selector option is out of range; thrown once, at construction. */
export class WorkerSelectorConfigError extends Error {
  override readonly name = "WorkerSelectorConfigError";
  /** The option at fault, e.g. `"hostHitCostRatio"`. */
  readonly field: string;

  constructor(field: string, rule: string, options?: { cause?: unknown }) {
    super(`${field}: ${rule}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.field = field;
  }
}
