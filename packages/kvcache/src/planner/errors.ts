/** Typed errors of the capacity planner. */

/** An input the planner cannot plan with. `field` names it ("deviceBytes", "shape.head_dim", …). */
export class CapacityPlanError extends Error {
  override readonly name = "CapacityPlanError";
  readonly field: string;

  constructor(field: string, rule: string, options?: { cause?: unknown }) {
    super(`capacity plan: ${field} ${rule}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.field = field;
  }
}
