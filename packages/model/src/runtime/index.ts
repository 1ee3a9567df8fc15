/**
 * Entry `@sigmaserve/model/runtime`: the dense ops as L+1 ONNX stages cut at
 * attention, and `OrtDenseModel`, which runs them in onnxruntime-node.
 *
 * NOTE: this is the only entry of @sigmaserve/model that imports
 * onnxruntime-node (and with it ORT's native library, mapped at import time).
 * Import it only where a model runs: the engine, the worker, and the CLI
 * commands that compute logits (there by a dynamic import). The router may
 * never import it; the boundaries lint and test/src/no-ort-in-router.test.ts
 * hold that line. The ONNX graph builders themselves need no ORT but live
 * here because nothing else runs the graphs they build.
 */
export { ropeTables } from "../onnx/dense-ops.js";
export { STAGE_INPUTS, STAGE_OUTPUTS, buildDenseStage, buildDenseStages, type DenseStage } from "../onnx/dense-stages.js";
export { ONNX_IR_VERSION, ONNX_OPSET } from "../onnx/graph-builder.js";
export { HF_LLAMA_ONNX_FILE, HF_LLAMA_ONNX_INPUTS, HF_LLAMA_ONNX_LOGITS, buildHfLlamaOnnx, hfLlamaCacheNames, writeHfLlamaOnnx } from "../onnx/hf-llama-onnx.js";
export { OrtDenseModel, type AttentionInputs, type OrtDenseModelOptions } from "./ort-dense-model.js";
