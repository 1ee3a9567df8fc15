/**
 * Typed errors of the sampler. A bad sampling field is the caller's fault and
 * maps to INVALID_ARGUMENT at the worker's edge; the other two are bugs (a
 * model that produced NaN or +Inf logits, a worker that feeds a finished
 * request), so they throw rather than return a value. Each class sets `name`
 * and takes `{ cause }`.
 */

/** A sampling parameter broke a rule. `field` is the proto path the user wrote, e.g. `sampling.top_p`. */
export class SamplingParamsError extends Error {
  override readonly name: string = "SamplingParamsError";
  /** The offending field as the user sees it (proto snake_case), with an index for list items: `sampling.stop[2]`. */
  readonly field: string;
  /** The rule it broke and what was sent, without the field (`must be in (0, 1], got 2`): a BadRequest description. */
  readonly rule: string;

  constructor(field: string, rule: string, options: { cause?: unknown } = {}) {
    super(`${field}: ${rule}`, { cause: options.cause });
    this.field = field;
    this.rule = rule;
  }
}

/** A logits row has no finite maximum or its softmax is not a number: the model produced NaN or +Inf. */
export class NonFiniteLogitsError extends Error {
  override readonly name: string = "NonFiniteLogitsError";

  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
  }
}

/** A `StopChecker` was used against its contract (a token after the finish, a replay after the first token). */
export class StopCheckerStateError extends Error {
  override readonly name: string = "StopCheckerStateError";

  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
  }
}
