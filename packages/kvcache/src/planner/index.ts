/** The capacity planner: tokens of KV cache per tier, K and V apart, against the GQA twin. */
// The block size a plan uses unless told otherwise is the pools' default.
export { DEFAULT_BLOCK_SIZE_TOKENS } from "../kv-types.js";
export { CapacityPlanError } from "./errors.js";
export {
  CAPACITY_MODES,
  KV_DTYPE_BYTES,
  planCapacity,
  type CapacityFigures,
  type CapacityMode,
  type CapacityPlan,
  type CapacityPlanOptions,
  type KvBytes,
  type KvDtype,
} from "./plan-capacity.js";
