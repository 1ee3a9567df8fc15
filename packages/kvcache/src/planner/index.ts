/** The capacity planner: tokens of KV cache per tier, K and V apart, against the GQA twin. */
// The block size a plan uses unless told otherwise is the pools' default.
export { DEFAULT_BLOCK_SIZE_TOKENS, KV_DTYPE_BYTES, type KvDtype } from "../kv-types.js";
export { CapacityPlanError } from "./errors.js";
export {
  CAPACITY_MODES,
  planCapacity,
  SELECTIVE_V_DEVICE_V_SHARE,
  type CapacityFigures,
  type CapacityMode,
  type CapacityPlan,
  type CapacityPlanOptions,
  type KvBytes,
} from "./plan-capacity.js";
