/**
 * The attention kernels' public surface, for src/index.ts to re-export
 * (`export * from "./attention/index.js"`).
 */
export type { AttentionArenas, AttentionBatch, AttentionKernel, AttentionReadStats, AttentionShape, KvElementType } from "./attention-kernel.js";
export { AttentionInputError, NativeAttentionUnavailableError } from "./attention-errors.js";
export { ATTENTION_FALLBACK_WARNING_CODE, createAttentionKernel, type AttentionKernelKind, type CreateAttentionKernelOptions } from "./create-attention-kernel.js";
export { JsPagedAttention } from "./js-paged-attention.js";
export { DEFAULT_NATIVE_ATTENTION_PATH, NativePagedAttention, loadNativeAttention, type NativeAttentionPhase, type NativeAttentionStatus, type NativePagedAttentionOptions } from "./native-paged-attention.js";
