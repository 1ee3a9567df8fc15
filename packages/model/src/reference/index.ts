/**
 * Entry `@sigmaserve/model/reference`: the reference forward pass, the
 * oracle every optimised path (the ORT dense stages, the engine's paged
 * attention, failover replay) is tested against, and its plain causal
 * attention.
 *
 * Plain TypeScript loops over f32 arrays: it never imports onnxruntime-node,
 * so a test or a tool can compute expected logits without a runtime.
 */
export { causalAttention, referenceForward, type ReferenceOptions, type ReferenceResult } from "./reference-forward.js";
