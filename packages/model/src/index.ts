/**
 * @sigmaserve/model: what a DiffQKV model is, in code. Config and presets,
 * safetensors weights, tokenizers, the ONNX dense stages the engine runs in
 * onnxruntime-node, and the reference forward pass every fast path is
 * checked against.
 */
export * from "./config/index.js";
export { type Tensor, type TensorMap, elementCount } from "./tensor.js";
export * from "./safetensors/index.js";
export * from "./tokenizer/index.js";
export { WeightsMismatchError } from "./weights/errors.js";
export { makeDemoWeights } from "./weights/demo-weights.js";
export { EMBED_TOKENS, FINAL_NORM, LM_HEAD, expectedTensorShapes, layerTensorNames } from "./weights/tensor-names.js";
export { validateWeights } from "./weights/validate-weights.js";
export { causalAttention, referenceForward, type ReferenceOptions, type ReferenceResult } from "./reference/reference-forward.js";
export { ropeTables } from "./onnx/dense-ops.js";
export { STAGE_INPUTS, STAGE_OUTPUTS, buildDenseStage, buildDenseStages, type DenseStage } from "./onnx/dense-stages.js";
export { ONNX_IR_VERSION, ONNX_OPSET } from "./onnx/graph-builder.js";
export { OrtDenseModel, type AttentionInputs, type OrtDenseModelOptions } from "./runtime/ort-dense-model.js";
export { CONFIG_FILE_NAME, WEIGHTS_FILE_NAME, demoModel, loadModelConfig, loadModelDir, saveModelDir, type LoadedModel } from "./model-dir/model-dir.js";
